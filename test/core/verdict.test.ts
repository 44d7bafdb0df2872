import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, explain, isPlainEtag, type Category } from '../../src/core/verdict.ts';
import { entry, MD5_A, MD5_B } from '../helpers.ts';

test('table: verdict rules of design §5', () => {
  const cases: { what: string; src: [number, string] | null; dst: [number, string] | null; want: Category }[] = [
    { what: 'same size, same plain ETag', src: [10, MD5_A], dst: [10, MD5_A], want: 'matched' },
    { what: 'ETag case differs only', src: [10, MD5_A], dst: [10, MD5_A.toUpperCase()], want: 'matched' },
    { what: 'same multipart ETag', src: [10, `${MD5_A}-3`], dst: [10, `${MD5_A}-3`], want: 'matched' },
    { what: 'both zero bytes, ETags differ', src: [0, MD5_A], dst: [0, ''], want: 'matched' },
    { what: 'both zero bytes, both empty', src: [0, ''], dst: [0, ''], want: 'matched' },
    { what: 'only in source', src: [10, MD5_A], dst: null, want: 'missing' },
    { what: 'only in destination', src: null, dst: [10, MD5_A], want: 'extra' },
    { what: 'sizes differ', src: [10, MD5_A], dst: [11, MD5_A], want: 'sizeMismatch' },
    { what: 'sizes differ, one zero', src: [0, ''], dst: [11, MD5_A], want: 'sizeMismatch' },
    { what: 'plain ETags differ', src: [10, MD5_A], dst: [10, MD5_B], want: 'etagMismatch' },
    { what: 'multipart source, plain copy', src: [10, `${MD5_A}-2`], dst: [10, MD5_B], want: 'unverified' },
    { what: 'plain source, multipart copy', src: [10, MD5_A], dst: [10, `${MD5_B}-1`], want: 'unverified' },
    { what: 'different multipart layouts', src: [10, `${MD5_A}-5`], dst: [10, `${MD5_B}-2`], want: 'unverified' },
    { what: 'empty ETag on one side', src: [10, ''], dst: [10, MD5_B], want: 'unverified' },
    { what: 'both ETags empty', src: [10, ''], dst: [10, ''], want: 'unverified' },
  ];
  for (const c of cases) {
    const s = c.src ? entry('k', c.src[0], c.src[1]) : null;
    const d = c.dst ? entry('k', c.dst[0], c.dst[1]) : null;
    const got = classify(s, d);
    assert.equal(got, c.want, c.what);
    assert.ok(explain(got, s, d).length > 0);
  }
});

test('isPlainEtag: non-empty and without a -N suffix', () => {
  assert.equal(isPlainEtag(MD5_A), true);
  assert.equal(isPlainEtag(`${MD5_A}-12`), false);
  assert.equal(isPlainEtag(''), false);
});

test('classify refuses a key that is on neither side', () => {
  assert.throws(() => classify(null, null), TypeError);
});
