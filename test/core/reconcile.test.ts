import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchesOf, reconcile, type Verdict } from '../../src/core/reconcile.ts';
import type { ObjectEntry } from '../../src/core/entry.ts';
import { S3migError } from '../../src/core/errors.ts';
import { entry, MD5_A, MD5_B } from '../helpers.ts';

async function run(src: ObjectEntry[], dst: ObjectEntry[], batch = 2, signal?: AbortSignal): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const verdicts of reconcile(batchesOf(src, batch), batchesOf(dst, batch), { signal, batchSize: 3 })) {
    for (const v of verdicts) out.push([v.key, v.category]);
  }
  return out;
}

const e = entry;
const NFC = '\u00e9'; // é as one code point
const NFD = 'e\u0301'; // e + combining acute accent

const cases: { what: string; src: ObjectEntry[]; dst: ObjectEntry[]; want: [string, string][] }[] = [
  { what: 'both empty', src: [], dst: [], want: [] },
  { what: 'destination empty', src: [e('a'), e('b')], dst: [], want: [['a', 'missing'], ['b', 'missing']] },
  { what: 'source empty', src: [], dst: [e('a'), e('b')], want: [['a', 'extra'], ['b', 'extra']] },
  {
    what: 'interleaved keys',
    src: [e('a'), e('c'), e('e')],
    dst: [e('b'), e('c'), e('d')],
    want: [['a', 'missing'], ['b', 'extra'], ['c', 'matched'], ['d', 'extra'], ['e', 'missing']],
  },
  {
    what: 'a key that is a prefix of others (a, a-b, a/b)',
    src: [e('a'), e('a-b'), e('a/b')],
    dst: [e('a'), e('a/b')],
    want: [['a', 'matched'], ['a-b', 'missing'], ['a/b', 'matched']],
  },
  {
    what: 'emoji against U+FF5E: UTF-8 order, not UTF-16',
    src: [e('x/\uff5e'), e('x/😀')],
    dst: [e('x/\uff5e'), e('x/😀')],
    want: [['x/\uff5e', 'matched'], ['x/😀', 'matched']],
  },
  {
    what: 'emoji only in source, U+FF5E only in destination',
    src: [e('😀')],
    dst: [e('\uff5e')],
    want: [['\uff5e', 'extra'], ['😀', 'missing']],
  },
  {
    what: 'NFC and NFD forms of the same letter are two different keys',
    src: [e(`caf${NFD}`)],
    dst: [e(`caf${NFC}`)],
    want: [[`caf${NFD}`, 'missing'], [`caf${NFC}`, 'extra']],
  },
  {
    what: 'multipart and empty ETags are unverified, plain ones mismatch',
    src: [e('m', 5, `${MD5_A}-2`), e('n', 5, ''), e('p', 5, MD5_A)],
    dst: [e('m', 5, `${MD5_B}-1`), e('n', 5, MD5_B), e('p', 5, MD5_B)],
    want: [['m', 'unverified'], ['n', 'unverified'], ['p', 'etagMismatch']],
  },
  {
    what: 'folder markers and zero-byte objects match',
    src: [e('dir/', 0, '', { folder: true }), e('dir/.keep', 0, MD5_A)],
    dst: [e('dir/', 0, '', { folder: true }), e('dir/.keep', 0, '')],
    want: [['dir/', 'matched'], ['dir/.keep', 'matched']],
  },
  {
    what: 'a folder marker missing and a size mismatch',
    src: [e('dir/', 0, '', { folder: true }), e('dir/f', 10, MD5_A)],
    dst: [e('dir/f', 11, MD5_A)],
    want: [['dir/', 'missing'], ['dir/f', 'sizeMismatch']],
  },
];

test('table: merge-join yields one verdict per key', async () => {
  for (const c of cases) {
    for (const batch of [1, 2, 1000]) {
      assert.deepEqual(await run(c.src, c.dst, batch), c.want, `${c.what} (batches of ${batch})`);
    }
  }
});

test('verdicts carry both sides entries', async () => {
  const out: Verdict[] = [];
  for await (const vs of reconcile(batchesOf([e('k', 3, MD5_A)]), batchesOf([e('k', 4, MD5_A)]))) out.push(...vs);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.source!.size, 3);
  assert.equal(out[0]!.dest!.size, 4);
});

test('an out-of-order source is an error, never a silent mismatch', async () => {
  for (const [src, dst, side] of [
    [[e('b'), e('a')], [e('a'), e('b')], 'source'],
    [[e('a'), e('b')], [e('b'), e('a')], 'dest'],
    // sorted by UTF-16 (JavaScript's sort), which is wrong for UTF-8: emoji before U+FF5E
    [[e('😀'), e('\uff5e')], [], 'source'],
  ] as const) {
    await assert.rejects(run([...src], [...dst], 1), (err: unknown) => {
      assert.ok(err instanceof S3migError);
      assert.equal(err.code, 'S3MIG_SOURCE_UNORDERED');
      assert.match(err.message, new RegExp(`^${side} listing is not in UTF-8 byte order`));
      return true;
    });
  }
});

test('a key repeated within one source is an error (sources must be strictly increasing)', async () => {
  await assert.rejects(run([e('a'), e('a')], [e('a')]), { code: 'S3MIG_SOURCE_UNORDERED' });
});

test('an aborted signal stops the join and closes both sources', async () => {
  const ac = new AbortController();
  let closed = 0;
  async function* endless(prefix: string): AsyncGenerator<ObjectEntry[]> {
    try {
      for (let i = 0; ; i++) yield [e(`${prefix}${String(i).padStart(9, '0')}`)];
    } finally {
      closed++;
    }
  }
  let seen = 0;
  await assert.rejects(async () => {
    for await (const vs of reconcile(endless('a'), endless('b'), { signal: ac.signal, batchSize: 10 })) {
      seen += vs.length;
      if (seen >= 50) ac.abort();
    }
  }, { code: 'S3MIG_CANCELED' });
  assert.equal(seen, 50);
  assert.equal(closed, 2);
});
