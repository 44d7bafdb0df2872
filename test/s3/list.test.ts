import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListedKey, rangesFromBounds, splitsBeyond } from '../../src/s3/list.ts';

test('split points beyond a page follow the character class of each position', () => {
  assert.deepEqual(splitsBeyond('', 'obj-000998', 'obj-000999'), [
    ...'123456789'.split('').map((d) => `obj-00${d}`),
    ...'123456789'.split('').map((d) => `obj-0${d}`),
    ...'123456789'.split('').map((d) => `obj-${d}`),
  ]);
  // Within a folder, never a point outside it; letters continue with letters.
  assert.deepEqual(splitsBeyond('p/', 'p/aw', 'p/ax'), ['p/ay', 'p/az', ...'bcdefghijklmnopqrstuvwxyz'.split('').map((c) => `p/${c}`)]);
  assert.deepEqual(splitsBeyond('', 'IMG_0997.jpg', 'IMG_0998.jpg'), ['IMG_0999', 'IMG_1', 'IMG_2', 'IMG_3', 'IMG_4', 'IMG_5', 'IMG_6', 'IMG_7', 'IMG_8', 'IMG_9']);
  assert.deepEqual(splitsBeyond('p/', 'p/-', 'p/~'), []);
  assert.deepEqual(splitsBeyond('flat/', 'flat/006', 'flat/007'), [
    'flat/008',
    'flat/009',
    ...'123456789'.split('').map((d) => `flat/0${d}`),
    ...'123456789'.split('').map((d) => `flat/${d}`),
  ]);
});

test('ranges from bounds are contiguous, open at both ends, and at most the count asked for', () => {
  const bounds = ['b/', 'a/', 'c/', 'a/', 'd/', 'e/'];
  const r = rangesFromBounds(bounds, 3);
  assert.equal(r.length, 3);
  assert.equal(r[0]!.lo, null);
  assert.equal(r.at(-1)!.hi, null);
  for (let i = 1; i < r.length; i++) assert.equal(r[i]!.lo, r[i - 1]!.hi);
  assert.deepEqual(rangesFromBounds([], 8), [{ lo: null, hi: null }]);
  assert.equal(rangesFromBounds(bounds, 100).length, 6, 'duplicates dropped');
});

test('url-encoded listing keys are decoded as S3 encodes them (+ for space)', () => {
  assert.equal(decodeListedKey('a+b%2Bc%20d%C3%A9', true), 'a b+c dé');
  assert.equal(decodeListedKey('a+b', false), 'a+b');
});
