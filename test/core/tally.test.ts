import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tally, emptyCounts, exitCodeOf, outcomeOf, recommend } from '../../src/core/tally.ts';
import { csvField, csvRow } from '../../src/core/csv.ts';
import { entry } from '../helpers.ts';

test('tally counts keys and bytes per category and per side', () => {
  const t = new Tally();
  t.add({ key: 'a', category: 'matched', source: entry('a', 10), dest: entry('a', 10) });
  t.add({ key: 'b', category: 'missing', source: entry('b', 5), dest: null });
  t.add({ key: 'c', category: 'extra', source: null, dest: entry('c', 7) });
  t.add({ key: 'd', category: 'unverified', source: entry('d', 3), dest: entry('d', 3) });
  assert.deepEqual(t.counts, { matched: 1, missing: 1, extra: 1, sizeMismatch: 0, etagMismatch: 0, unverified: 1, source: 3, dest: 3 });
  assert.deepEqual(t.bytes, { matched: 10, missing: 5, extra: 7, sizeMismatch: 0, etagMismatch: 0, unverified: 3, source: 18, dest: 20 });
  assert.equal(t.differences, 2);
  assert.equal(t.keys, 4);
});

test('outcome and exit code: unverified alone is clean, an incomplete run is 2', () => {
  const c = emptyCounts();
  c.unverified = 4;
  assert.equal(exitCodeOf(outcomeOf(c, true)), 0);
  c.extra = 1;
  assert.equal(exitCodeOf(outcomeOf(c, true)), 1);
  assert.equal(exitCodeOf(outcomeOf(emptyCounts(), false)), 2);
});

test('recommendations name what to do, incomplete listings first', () => {
  const c = emptyCounts();
  c.missing = 2;
  c.extra = 1;
  const r = recommend({ counts: c, complete: false, incomplete: [{ side: 'dest', message: 'Access Denied.' }], duplicates: { source: 0, dest: 3 } });
  assert.match(r[0]!, /dest listing is incomplete \(Access Denied\.\)/);
  assert.ok(!r.some((x) => /^Copy/.test(x)), 'no copy advice while a listing is incomplete');
  assert.ok(r.some((x) => /3 key\(s\) more than once/.test(x)));
  assert.deepEqual(recommend({ counts: emptyCounts(), complete: true, incomplete: [], duplicates: { source: 0, dest: 0 } }), ['Nothing to do: every key matches.']);
});

test('CSV fields are quoted per RFC 4180 only when needed', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('line\nbreak'), '"line\nbreak"');
  assert.equal(csvField('cr\r'), '"cr\r"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(12), '12');
  assert.equal(csvRow(['a', 1, '']), 'a,1,\r\n');
});
