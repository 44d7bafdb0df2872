// Table tests for where mc diff and s3mig agree (core/cross-check.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossCheckOutcome, mcDiffCode, type CrossCheckOutcome } from '../../src/core/cross-check.ts';
import type { Category } from '../../src/core/verdict.ts';

const CASES: [Category, number | null, CrossCheckOutcome][] = [
  ['matched', null, 'agree'],
  ['unverified', null, 'agree'],
  ['etagMismatch', null, 'etag-only'],
  ['missing', null, 'disagree'],
  ['extra', null, 'disagree'],
  ['sizeMismatch', null, 'disagree'],
  ['missing', 5, 'agree'],
  ['extra', 5, 'disagree'],
  ['matched', 5, 'disagree'],
  ['extra', 6, 'agree'],
  ['missing', 6, 'disagree'],
  ['sizeMismatch', 2, 'agree'],
  ['matched', 2, 'disagree'],
  ['etagMismatch', 2, 'disagree'],
  ['missing', 4, 'agree'],
  ['extra', 4, 'agree'],
  ['matched', 4, 'disagree'],
  ['matched', 7, 'agree'],
  ['unverified', 7, 'agree'],
  ['etagMismatch', 7, 'etag-only'],
  ['sizeMismatch', 7, 'disagree'],
  ['matched', 0, 'disagree'],
  ['matched', 3, 'disagree'],
  ['matched', 1, 'agree'],
];

test('crossCheckOutcome: every category against every mc diff code that matters', () => {
  for (const [ours, mc, want] of CASES) {
    assert.equal(crossCheckOutcome(ours, mc), want, `${ours} vs mc ${mc}`);
  }
});

test('mcDiffCode: which of first/second is present decides only-in-first/second; the code decides the rest', () => {
  const U = 'https://h/b/k';
  assert.equal(mcDiffCode(U, '', 5), 5);
  assert.equal(mcDiffCode(U, '', 0), 5, 'an unknown code with only the first side is only-in-first');
  assert.equal(mcDiffCode('', U, 5), 6, 'the URLs win over a code that contradicts them');
  assert.equal(mcDiffCode(U, U, 2), 2);
  assert.equal(mcDiffCode(U, U, 4), 4);
  assert.equal(mcDiffCode(U, U, 7), 7);
  assert.equal(mcDiffCode(U, U, 0), 0);
});
