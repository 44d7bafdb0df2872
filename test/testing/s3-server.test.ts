// The local S3 server harness: s3rver 3.7.1 with the corrections of src/testing/s3rver-patches.cjs
// (listing in UTF-8 byte order, byte-correct StartAfter and continuation, CommonPrefixes from the keys,
// a key index kept in step with writes, CopyObject's source decoded as S3 does, object metadata for
// HEAD and GET and each bucket's existence and configurations cached and dropped by writes).
import { test, before, after } from 'node:test';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectsV2CommandInput,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const sortBytes = (keys: string[]) => [...keys].sort(byteOrder);

// Keys whose file-name, UTF-16 and UTF-8 orders differ: prefixes of other keys, characters around
// '/', U+FF5E and U+FFFD against an astral emoji (UTF-16 puts U+1F600 first), a newline (which
// s3rver's continuation-token parser stopped at), folders holding only folders.
const KEYS = [
  'a',
  'a-b',
  'a/b',
  'a/b/c',
  'a/b-c',
  'a.txt',
  'a0',
  'A',
  'b',
  'b c',
  'e',
  'é',
  'z',
  '~',
  '\uFF5E',
  '\uFFFD',
  '\u{1F600}',
  '\u{1F600}/x',
  'nl\nkey',
  'dir/file',
  'dir/sub-file',
  'dir/sub/x/1',
  'dir/sub/x/2',
  'dir/sub/y/3',
  'dir/sub2/z/4',
  'dir/sub.d/5',
  'dir/\u{1F600}/6',
  'dir/\uFF5E/7',
  'dir/~/8',
  'marker/',
  'marker/x/y',
];

let server: LocalS3;
let conn: S3Connection;
let s3: S3Client;
const BUCKET = 'keys';

function connectTo(endpoint: string): S3Connection {
  return connect({ url: endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
}

before(async () => {
  server = await startLocalS3({ buckets: [BUCKET, 'copies', 'mutate', 'meta'] });
  conn = connectTo(server.endpoint);
  s3 = conn.client;
  await Promise.all(KEYS.map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `body of ${Key}` }))));
});

after(async () => {
  conn?.destroy();
  await server?.stop();
});

interface Page {
  keys: string[];
  prefixes: string[];
  keyCount: number | undefined;
}

/** Every page of a ListObjectsV2, following NextContinuationToken. */
async function listPages(input: Omit<ListObjectsV2CommandInput, 'ContinuationToken'>, client = s3): Promise<Page[]> {
  const pages: Page[] = [];
  let token: string | undefined;
  for (;;) {
    const r = await client.send(new ListObjectsV2Command({ ...input, ContinuationToken: token }));
    pages.push({
      keys: (r.Contents ?? []).map((o) => o.Key!),
      prefixes: (r.CommonPrefixes ?? []).map((p) => p.Prefix!),
      keyCount: r.KeyCount,
    });
    assert.equal(r.IsTruncated ?? false, r.NextContinuationToken !== undefined, 'IsTruncated goes with NextContinuationToken');
    if (!r.NextContinuationToken) return pages;
    token = r.NextContinuationToken;
    assert.ok(pages.length < 1000, 'listing does not end');
  }
}

async function listAll(input: Omit<ListObjectsV2CommandInput, 'ContinuationToken'>, client = s3): Promise<string[]> {
  return (await listPages(input, client)).flatMap((p) => p.keys);
}

/** What S3 answers to a delimiter listing: keys and common prefixes, one sequence in byte order. */
function expectedEntries(keys: string[], prefix: string, delimiter: string): string[] {
  const out: string[] = [];
  for (const key of sortBytes(keys)) {
    if (!key.startsWith(prefix)) continue;
    const at = key.indexOf(delimiter, prefix.length);
    const entry = at === -1 ? key : key.slice(0, at + delimiter.length);
    if (out[out.length - 1] !== entry) out.push(entry);
  }
  return out;
}

test('a full listing is in UTF-8 byte order, not file-name or UTF-16 order', async () => {
  const expected = sortBytes(KEYS);
  // The test means something only if JavaScript's own order differs.
  assert.notDeepEqual([...KEYS].sort(), expected);
  assert.ok(expected.indexOf('\uFF5E') < expected.indexOf('\u{1F600}'), 'U+FF5E before the emoji in bytes');
  assert.deepEqual(expected.slice(expected.indexOf('a'), expected.indexOf('a') + 6), ['a', 'a-b', 'a.txt', 'a/b', 'a/b-c', 'a/b/c']);

  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  assert.deepEqual(
    r.Contents!.map((o) => o.Key),
    expected,
  );
  assert.equal(r.KeyCount, KEYS.length);
  assert.equal(r.IsTruncated, false);
  const first = r.Contents!.find((o) => o.Key === 'é')!;
  assert.equal(first.Size, Buffer.byteLength('body of é'));
  assert.match(first.ETag!, /^"[0-9a-f]{32}"$/);

  // ListObjects (V1) has the same order.
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET }));
  assert.deepEqual(
    v1.Contents!.map((o) => o.Key),
    expected,
  );
});

test('paging with MaxKeys=3 gives the full listing, no key repeated or dropped', async () => {
  const pages = await listPages({ Bucket: BUCKET, MaxKeys: 3 });
  assert.equal(pages.length, Math.ceil(KEYS.length / 3));
  for (const p of pages.slice(0, -1)) assert.equal(p.keys.length, 3);
  assert.deepEqual(
    pages.flatMap((p) => p.keys),
    sortBytes(KEYS),
  );

  // V1 markers: the last key of each page.
  const v1: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, MaxKeys: 4, Marker: marker }));
    const keys = (r.Contents ?? []).map((o) => o.Key!);
    v1.push(...keys);
    if (!r.IsTruncated) break;
    marker = keys[keys.length - 1];
  }
  assert.deepEqual(v1, sortBytes(KEYS));
});

test('StartAfter at every key, and between keys, gives exactly the keys after it in bytes', async () => {
  const sorted = sortBytes(KEYS);
  for (let i = 0; i < sorted.length; i++) {
    assert.deepEqual(await listAll({ Bucket: BUCKET, StartAfter: sorted[i] }), sorted.slice(i + 1), `StartAfter ${JSON.stringify(sorted[i])}`);
  }
  // Not keys themselves: after 'a' and before 'a-b' in bytes; U+FFFF sorts before the emoji in bytes, after it in UTF-16.
  for (const after of ['a\u0000', 'a.', '\uFFFF', 'dir/sub/', '\u{10FFFF}']) {
    const rest = sorted.filter((k) => byteOrder(k, after) > 0);
    assert.deepEqual(await listAll({ Bucket: BUCKET, StartAfter: after }), rest, `StartAfter ${JSON.stringify(after)}`);
  }
  // With a prefix, and paging on top.
  assert.deepEqual(
    await listAll({ Bucket: BUCKET, Prefix: 'dir/', StartAfter: 'dir/sub-file', MaxKeys: 2 }),
    sorted.filter((k) => k.startsWith('dir/') && byteOrder(k, 'dir/sub-file') > 0),
  );
});

test('a delimiter listing gives CommonPrefixes for folders that hold only folders, interleaved in byte order', async () => {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/', Delimiter: '/' }));
  // dir/sub/ and dir/sub2/ hold only folders; s3rver left them out.
  assert.deepEqual(
    (r.CommonPrefixes ?? []).map((p) => p.Prefix),
    ['dir/sub.d/', 'dir/sub/', 'dir/sub2/', 'dir/~/', 'dir/\uFF5E/', 'dir/\u{1F600}/'],
  );
  assert.deepEqual(
    (r.Contents ?? []).map((o) => o.Key),
    ['dir/file', 'dir/sub-file'],
  );
  assert.equal(r.KeyCount, 8, 'KeyCount counts keys and common prefixes');

  const nested = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/sub/', Delimiter: '/' }));
  assert.deepEqual(
    (nested.CommonPrefixes ?? []).map((p) => p.Prefix),
    ['dir/sub/x/', 'dir/sub/y/'],
  );
  assert.equal(nested.Contents, undefined);

  // A folder marker key (ends with the delimiter) is a key of its own folder's listing.
  const marker = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'marker/', Delimiter: '/' }));
  assert.deepEqual(
    (marker.Contents ?? []).map((o) => o.Key),
    ['marker/'],
  );
  assert.deepEqual(
    (marker.CommonPrefixes ?? []).map((p) => p.Prefix),
    ['marker/x/'],
  );

  // At the root.
  const root = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: '/' }));
  const entries = [...(root.Contents ?? []).map((o) => o.Key!), ...(root.CommonPrefixes ?? []).map((p) => p.Prefix!)];
  assert.deepEqual(sortBytes(entries), expectedEntries(KEYS, '', '/'));
});

test('delimiter listings page by MaxKeys over keys and common prefixes together', async () => {
  for (const [prefix, maxKeys] of [
    ['', 2],
    ['dir/', 2],
    ['dir/', 1],
    ['dir/sub/', 1],
    ['a', 2],
    ['marker/', 1],
  ] as const) {
    const expected = expectedEntries(KEYS, prefix, '/');
    const pages = await listPages({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/', MaxKeys: maxKeys });
    const got: string[] = [];
    for (const [n, p] of pages.entries()) {
      const entries = sortBytes([...p.keys, ...p.prefixes]);
      assert.equal(p.keyCount, entries.length, 'KeyCount');
      if (n < pages.length - 1) assert.equal(entries.length, maxKeys, `page ${n} of ${JSON.stringify(prefix)} is full`);
      got.push(...entries);
    }
    assert.deepEqual(got, expected, `prefix ${JSON.stringify(prefix)}, MaxKeys ${maxKeys}`);
    // The union of the pages is the one-page answer.
    const one = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, Delimiter: '/' }));
    assert.deepEqual(
      pages.flatMap((p) => p.keys),
      (one.Contents ?? []).map((o) => o.Key),
    );
    assert.deepEqual(
      pages.flatMap((p) => p.prefixes),
      (one.CommonPrefixes ?? []).map((p) => p.Prefix),
    );
  }

  // V1 with a delimiter: NextMarker may be a common prefix, and the next page steps over it.
  const v1: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const r = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'dir/', Delimiter: '/', MaxKeys: 1, Marker: marker }));
    v1.push(...(r.Contents ?? []).map((o) => o.Key!), ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    if (!r.IsTruncated) break;
    assert.ok(r.NextMarker, 'NextMarker with a delimiter');
    marker = r.NextMarker;
  }
  assert.deepEqual(v1, expectedEntries(KEYS, 'dir/', '/'));
});

test('CopyObject finds source keys with reserved characters, spaces and non-ASCII, and keeps their bytes', async () => {
  const sources = [
    'plus+sign',
    'amp&er=sand?q#frag',
    'punct,semi;colon:at@dollar$',
    'percent%41%2F%',
    'space and  two',
    'dir/ünïcødé ½ 😀',
    'all + & = ? # , ; : @ $ % é/deep',
  ];
  for (const [n, key] of sources.entries()) {
    const body = `copy source ${n}: ${key}`;
    const put = await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: key, Body: body }));
    // Encoded as S3 asks: percent-encoded, '/' kept or encoded.
    for (const [m, copySource] of [
      `copies/${encodeURIComponent(key)}`,
      `copies/${key.split('/').map(encodeURIComponent).join('/')}`,
      `/copies/${encodeURIComponent(key)}?versionId=null`,
    ].entries()) {
      const dest = `copied/${m}/${key}`;
      const r = await s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: dest, CopySource: copySource }));
      assert.equal(r.CopyObjectResult?.ETag, put.ETag, `${copySource}`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'copies', Key: dest }));
      assert.equal(await got.Body!.transformToString(), body);
    }
  }
  const listed = await listAll({ Bucket: 'copies', Prefix: 'copied/1/' });
  assert.deepEqual(listed, sortBytes(sources.map((k) => `copied/1/${k}`)));

  // A missing source is still NoSuchKey, and a malformed encoding is refused, not a crash.
  await assert.rejects(
    s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: `copies/${encodeURIComponent('plus sign')}` })),
    (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.name === 'NoSuchKey' && err.$metadata?.httpStatusCode === 404,
  );
  await assert.rejects(
    s3.send(new CopyObjectCommand({ Bucket: 'copies', Key: 'x', CopySource: 'copies/bad%E0%A4%A' })),
    (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 400,
  );
});

test('listings follow puts, overwrites, copies, deletes, multi-deletes and multipart uploads made after a first listing', async () => {
  const B = 'mutate';
  const initial = ['m/1', 'm/2', 'm/3', 'n', 'o/p/q'];
  for (const Key of initial) await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }));
  assert.deepEqual(await listAll({ Bucket: B }), sortBytes(initial)); // builds the index

  const expected = new Set(initial);
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'm/1-new', Body: 'x' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: '\u{1F600}', Body: 'x' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'n', Body: 'overwritten' }));
  expected.add('m/1-new').add('\u{1F600}');
  await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'm/2' }));
  expected.delete('m/2');
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy of n', CopySource: `${B}/n` }));
  expected.add('copy of n');
  await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'm/3' }, { Key: 'o/p/q' }, { Key: 'never there' }] } }));
  expected.delete('m/3');
  expected.delete('o/p/q');
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'multi/part' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'multi/part', UploadId: mp.UploadId, PartNumber: 1, Body: 'part one' }));
  assert.deepEqual(await listAll({ Bucket: B }), sortBytes([...expected]), 'an upload in progress is not listed');
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: B, Key: 'multi/part', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  );
  expected.add('multi/part');

  assert.deepEqual(await listAll({ Bucket: B }), sortBytes([...expected]));
  assert.deepEqual(await listAll({ Bucket: B, MaxKeys: 2 }), sortBytes([...expected]));

  // Many writes between two listings (the index merges them rather than splicing one by one).
  const bulk = Array.from({ length: 90 }, (_, i) => `bulk/${(i * 37) % 90}${i % 2 ? '\u{1F600}' : '\uFF5E'}`);
  await Promise.all(bulk.map((Key) => s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }))));
  for (const k of bulk) expected.add(k);
  assert.deepEqual(await listAll({ Bucket: B, MaxKeys: 1000 }), sortBytes([...expected]));
  const gone = bulk.filter((_, i) => i % 3 !== 0);
  await Promise.all(gone.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: B, Key }))));
  await Promise.all(['bulk/new-1', 'bulk/0\uFF5E', 'm/1'].map((Key) => s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }))));
  for (const k of gone) expected.delete(k);
  expected.add('bulk/new-1').add('bulk/0\uFF5E').add('m/1');
  assert.deepEqual(await listAll({ Bucket: B, MaxKeys: 7 }), sortBytes([...expected]));
  const n = (await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'n' }))).Contents!;
  assert.equal(n.length, 1, 'an overwrite is one key');
  assert.equal(n[0]!.Size, 'overwritten'.length);
  const delim = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' }));
  assert.deepEqual(
    (delim.CommonPrefixes ?? []).map((p) => p.Prefix),
    ['bulk/', 'm/', 'multi/'],
    'o/ is gone with its last key',
  );

  // A deleted and re-created bucket starts empty.
  await s3.send(new CreateBucketCommand({ Bucket: 'again' }));
  await s3.send(new PutObjectCommand({ Bucket: 'again', Key: 'k', Body: 'k' }));
  assert.deepEqual(await listAll({ Bucket: 'again' }), ['k']);
  await s3.send(new DeleteObjectCommand({ Bucket: 'again', Key: 'k' }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'again' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'again' }));
  assert.deepEqual(await listAll({ Bucket: 'again' }), []);
});

test('a continuation token from another bucket, or garbage, is refused', async () => {
  const first = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1 }));
  assert.ok(first.NextContinuationToken);
  for (const token of [first.NextContinuationToken, 'bm90IGEgdG9rZW4gYXQgYWxsIQ==']) {
    await assert.rejects(
      s3.send(new ListObjectsV2Command({ Bucket: 'copies', ContinuationToken: token })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.name === 'InvalidArgument' && err.$metadata?.httpStatusCode === 400,
    );
  }
});

test('the key index folds in noted writes by splicing or by merging, always in byte order', () => {
  const require = createRequire(import.meta.url);
  const { KeyIndex } = require('../../src/testing/s3rver-patches.cjs') as {
    KeyIndex: new (keys: string[]) => { keys: string[]; note(key: string, present: boolean): void; flush(): { keys: string[] } };
  };
  const alphabet = ['a', 'b', '/', '-', '~', 'é', '\uFF5E', '\uFFFD', '\u{1F600}', '\u{10000}'];
  let seed = 42; // mulberry32: deterministic, and its low bits are as random as its high ones
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const randomKey = () => Array.from({ length: 1 + rand(4) }, () => alphabet[rand(alphabet.length)]).join('');
  const truth = new Set<string>(Array.from({ length: 200 }, randomKey));
  const index = new KeyIndex([...truth]);
  assert.deepEqual(index.keys, sortBytes([...truth]));
  for (const batch of [1, 5, 64, 65, 300, 2, 1000]) {
    for (let i = 0; i < batch; i++) {
      const key = rand(3) === 0 && truth.size ? [...truth][rand(truth.size)]! : randomKey();
      const present = rand(2) === 0;
      index.note(key, present);
      if (present) truth.add(key);
      else truth.delete(key);
    }
    assert.deepEqual(index.flush().keys, sortBytes([...truth]), `after a batch of ${batch}`);
  }
});

const md5 = (body: string) => `"${createHash('md5').update(body).digest('hex')}"`;

interface Listed {
  size: number;
  etag: string;
  lastModified: number;
}

/** Every key of a bucket with what its listing entry shows, over pages of `maxKeys`. */
async function listMeta(bucket: string, maxKeys = 1000): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>();
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: maxKeys, ContinuationToken: token }));
    for (const o of r.Contents ?? []) {
      assert.equal(o.StorageClass, 'STANDARD');
      out.set(o.Key!, { size: o.Size!, etag: o.ETag!, lastModified: o.LastModified!.getTime() });
    }
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

/** A key's expected body, or (where racing writes leave it to s3rver) its size and ETag as its files hold them. */
type Expected = string | { size: number; etag: string };

/** The listing agrees with HeadObject on every key, and each body is as expected. */
async function assertListingMatches(bucket: string, bodies: Map<string, Expected>, message: string): Promise<Map<string, Listed>> {
  for (const maxKeys of [1000, 2]) {
    const listed = await listMeta(bucket, maxKeys);
    assert.deepEqual([...listed.keys()], sortBytes([...bodies.keys()]), `${message}: keys (MaxKeys ${maxKeys})`);
    for (const [key, body] of bodies) {
      const got = listed.get(key)!;
      const want = typeof body === 'string' ? { size: Buffer.byteLength(body), etag: md5(body) } : body;
      assert.equal(got.size, want.size, `${message}: Size of ${key}`);
      assert.equal(got.etag, want.etag, `${message}: ETag of ${key}`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.deepEqual(
        { size: got.size, etag: got.etag, lastModified: got.lastModified },
        { size: head.ContentLength, etag: head.ETag, lastModified: head.LastModified!.getTime() },
        `${message}: listing and HeadObject of ${key}`,
      );
    }
  }
  return listMeta(bucket);
}

test('listed Size, ETag and LastModified follow overwrites, copies onto existing keys, multipart completion, delete and re-put', async () => {
  const B = 'meta';
  const bodies = new Map<string, string>([
    ['a', 'one'],
    ['b', 'bb'],
    ['c', 'ccc'],
    ['dir/d', 'dddd'],
    ['e', 'eeeee'],
  ]);
  for (const [Key, Body] of bodies) await s3.send(new PutObjectCommand({ Bucket: B, Key, Body }));
  const first = await assertListingMatches(B, bodies, 'after the puts'); // the listings fill the metadata cache

  // Overwrite in the next second: new size, ETag and LastModified.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 50));
  bodies.set('a', 'a much longer body than before');
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'a', Body: bodies.get('a') }));
  const afterOverwrite = await assertListingMatches(B, bodies, 'after an overwrite');
  assert.ok(afterOverwrite.get('a')!.lastModified > first.get('a')!.lastModified, 'LastModified moves on with an overwrite');
  assert.equal(afterOverwrite.get('b')!.lastModified, first.get('b')!.lastModified, 'other keys keep theirs');

  // Copy onto an existing key (same bucket, and across buckets), and a copy of a key onto itself.
  bodies.set('c', bodies.get('b')!);
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'c', CopySource: `${B}/b` }));
  await assertListingMatches(B, bodies, 'after a copy onto an existing key');
  await s3.send(new PutObjectCommand({ Bucket: 'copies', Key: 'meta-source', Body: 'from another bucket, longer' }));
  bodies.set('dir/d', 'from another bucket, longer');
  await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dir/d', CopySource: 'copies/meta-source' }));
  await s3.send(
    new CopyObjectCommand({ Bucket: B, Key: 'e', CopySource: `${B}/e`, MetadataDirective: 'REPLACE', ContentType: 'text/plain' }),
  );
  await assertListingMatches(B, bodies, 'after copies across buckets and onto itself');

  // Multipart completion onto an existing key.
  const part1 = 'x'.repeat(5 * 1024 * 1024);
  const part2 = 'tail';
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'b' }));
  const parts = [];
  for (const [n, Body] of [part1, part2].entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'b', UploadId: mp.UploadId, PartNumber: n + 1, Body }));
    parts.push({ PartNumber: n + 1, ETag: r.ETag });
  }
  await assertListingMatches(B, bodies, 'with a multipart upload in progress');
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'b', UploadId: mp.UploadId, MultipartUpload: { Parts: parts } }));
  bodies.set('b', part1 + part2);
  await assertListingMatches(B, bodies, 'after a multipart completion onto an existing key');

  // Delete, list, put again with other content.
  await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'a' }));
  bodies.delete('a');
  await assertListingMatches(B, bodies, 'after a delete');
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'a', Body: 'back' }));
  bodies.set('a', 'back');
  await assertListingMatches(B, bodies, 'after a delete and a put again');

  // Overwrites racing with listings (and HEADs): once all are done, the listing and HEAD show what the
  // key's files hold. s3rver's overwrites of one key are not atomic (each truncates and writes the
  // object file, then writes the .md5 file), so racing PUTs can leave one PUT's .md5 beside another's,
  // or a mix of, content: the files, not some PUT's body, are what must show.
  const racing = Array.from({ length: 20 }, (_, i) => `race ${i} ${'r'.repeat(i)}`);
  await Promise.all([
    ...racing.map(async (Body) => {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body }));
    }),
    ...racing.map(() => listMeta(B, 2)),
    ...racing.map(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'c' }))),
  ]);
  const objectFile = join(server.directory, B, 'c._S3rver_object');
  const onDisk = { size: statSync(objectFile).size, etag: JSON.stringify(readFileSync(`${objectFile}.md5`, 'utf8')) };
  const last = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'c' }));
  assert.equal(Buffer.byteLength(await last.Body!.transformToString()), onDisk.size);
  assert.equal(last.ETag, onDisk.etag);
  await assertListingMatches(B, new Map<string, Expected>([...bodies, ['c', onDisk]]), 'after overwrites racing with listings');
});

test('a warm listing reads its metadata from the cache, not from disk; a write through S3 refreshes it', async () => {
  const B = 'meta';
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cached', Body: 'cached body' }));
  const warm = (await listMeta(B)).get('cached')!;
  assert.equal(warm.etag, md5('cached body'));
  // Behind the server's back (a test server's directory is only ever written through S3): not seen.
  const objectFile = join(server.directory, B, 'cached._S3rver_object');
  writeFileSync(objectFile, 'changed on disk, not through S3');
  writeFileSync(`${objectFile}.md5`, createHash('md5').update('changed on disk, not through S3').digest('hex'));
  assert.deepEqual((await listMeta(B)).get('cached'), warm, 'a warm page reads nothing from disk');
  // A write through S3 drops the key's cached entry.
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cached', Body: 'new body' }));
  const fresh = (await listMeta(B)).get('cached')!;
  assert.equal(fresh.size, 'new body'.length);
  assert.equal(fresh.etag, md5('new body'));
});

// ---------------------------------------------------------------------------------------------
// HEAD and GET from the metadata cache
// ---------------------------------------------------------------------------------------------

/** What HeadObject or GetObject shows of an object's metadata. */
function shown(r: HeadObjectCommandOutput | GetObjectCommandOutput) {
  return {
    ContentType: r.ContentType,
    ContentEncoding: r.ContentEncoding,
    CacheControl: r.CacheControl,
    ContentDisposition: r.ContentDisposition,
    ContentLanguage: r.ContentLanguage,
    ExpiresString: r.ExpiresString,
    StorageClass: r.StorageClass,
    WebsiteRedirectLocation: r.WebsiteRedirectLocation,
    Metadata: r.Metadata,
    ETag: r.ETag,
    ContentLength: r.ContentLength,
    LastModified: r.LastModified?.getTime(),
  };
}

/** HeadObject and GetObject agree on the metadata, and GET's body is `body`; returns what they show. */
async function headAndGet(Bucket: string, Key: string, body: string, message: string) {
  const head = shown(await s3.send(new HeadObjectCommand({ Bucket, Key })));
  const get = await s3.send(new GetObjectCommand({ Bucket, Key }));
  assert.equal(await get.Body!.transformToString(), body, `${message}: GET body`);
  assert.deepEqual(shown(get), head, `${message}: GET and HEAD headers`);
  assert.equal(head.ETag, md5(body), `${message}: ETag`);
  assert.equal(head.ContentLength, Buffer.byteLength(body), `${message}: Content-Length`);
  return head;
}

/** The HTTP status of a request that S3 refuses (the SDK throws). */
async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
}

const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** A raw (unsigned) request's status, headers (but those that differ per response) and body. */
async function raw(method: 'HEAD' | 'GET', bucket: string, key: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${server.endpoint}/${bucket}/${encodeKey(key)}`, { method, headers });
  const body = await r.text();
  const varying = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
  return { status: r.status, headers: Object.fromEntries([...r.headers].filter(([name]) => !varying.has(name))), body };
}

const FULL: Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body'> = {
  ContentType: 'text/plain; charset=utf-8',
  ContentEncoding: 'identity',
  CacheControl: 'max-age=60',
  ContentDisposition: 'attachment; filename="a b.txt"',
  ContentLanguage: 'en',
  Expires: new Date('2030-01-02T03:04:05Z'),
  StorageClass: 'STANDARD_IA',
  WebsiteRedirectLocation: '/elsewhere',
  Metadata: { colour: 'blue', n: '1' },
};

test('HEAD and GET show the new body, Content-Type and metadata after an overwrite, not the cached ones', async () => {
  const B = 'heads';
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  const Key = 'doc/a b \u{1F600}.txt';
  await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: 'first', ...FULL }));
  const first = await headAndGet(B, Key, 'first', 'first put'); // fills the cache
  assert.deepEqual(
    { ...first, ETag: undefined, ContentLength: undefined, LastModified: undefined },
    {
      ContentType: 'text/plain; charset=utf-8',
      ContentEncoding: 'identity',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="a b.txt"',
      ContentLanguage: 'en',
      ExpiresString: 'Wed, 02 Jan 2030 03:04:05 GMT',
      StorageClass: 'STANDARD_IA',
      WebsiteRedirectLocation: '/elsewhere',
      Metadata: { colour: 'blue', n: '1' },
      ETag: undefined,
      ContentLength: undefined,
      LastModified: undefined,
    },
  );
  assert.deepEqual(await headAndGet(B, Key, 'first', 'a second read, from the cache'), first);

  // Overwrite in a later second, with other headers and fewer of them.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 50));
  await s3.send(
    new PutObjectCommand({ Bucket: B, Key, Body: 'second, longer', ContentType: 'application/json', CacheControl: 'no-cache', Metadata: { shape: 'round' } }),
  );
  await listMeta(B); // HEAD takes size, ETag and Last-Modified from a listing's cache when it has them
  const second = await headAndGet(B, Key, 'second, longer', 'after an overwrite');
  assert.deepEqual(
    { ...second, ETag: undefined, ContentLength: undefined, LastModified: undefined },
    {
      ContentType: 'application/json',
      ContentEncoding: undefined,
      CacheControl: 'no-cache',
      ContentDisposition: undefined,
      ContentLanguage: undefined,
      ExpiresString: undefined,
      StorageClass: undefined,
      WebsiteRedirectLocation: undefined,
      Metadata: { shape: 'round' },
      ETag: undefined,
      ContentLength: undefined,
      LastModified: undefined,
    },
  );
  assert.ok(second.LastModified! > first.LastModified!, 'Last-Modified moves on with the overwrite');

  // An overwrite without Content-Type or metadata: a default (the SDK's, else s3rver's), not the cached ones.
  await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: 'third' }));
  const third = await headAndGet(B, Key, 'third', 'after an overwrite without headers');
  assert.ok(['application/octet-stream', 'binary/octet-stream'].includes(third.ContentType!), third.ContentType);
  assert.deepEqual(third.Metadata, {});
  assert.equal(third.CacheControl, undefined);

  // The raw responses: HEAD (answered from the cache alone) sends exactly GET's status and headers.
  await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: 'raw body', ...FULL }));
  const cases: Record<string, string>[] = [
    {},
    { range: 'bytes=2-4' },
    { range: 'bytes=3-' },
    { range: 'bytes=-2' },
    { range: 'bytes=100-' },
    { 'if-none-match': md5('raw body') },
    { 'if-none-match': '"other"' },
    { 'if-modified-since': 'Fri, 01 Jan 2100 00:00:00 GMT' },
    { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
  ];
  for (const headers of cases) {
    const get = await raw('GET', B, Key, headers);
    const head = await raw('HEAD', B, Key, headers);
    if (get.status === 200 || get.status === 206) {
      assert.equal(head.body, '');
      assert.deepEqual(head, { ...get, body: '' }, `HEAD and GET with ${JSON.stringify(headers)}`);
    } else {
      assert.equal(head.status, get.status, `HEAD and GET with ${JSON.stringify(headers)}`);
    }
  }
  const ranged = await raw('HEAD', B, Key, { range: 'bytes=2-4' });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers['content-range'], 'bytes 2-4/8');
  assert.equal(ranged.headers['content-length'], '3');
  assert.equal((await raw('GET', B, Key, { range: 'bytes=2-4' })).body, 'w b');
  assert.equal((await raw('HEAD', B, Key, { range: 'bytes=100-' })).status, 416);
  assert.equal((await raw('HEAD', B, Key, { 'if-none-match': md5('raw body') })).status, 304);
  const plain = await raw('HEAD', B, Key);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['etag'], md5('raw body'));
  assert.equal(plain.headers['content-length'], '8');
  assert.equal(plain.headers['x-amz-meta-colour'], 'blue');
  assert.equal(plain.headers['x-amz-storage-class'], 'STANDARD_IA');
  assert.equal(plain.headers['x-amz-website-redirect-location'], '/elsewhere');
});

/** CopyObject's result names the copy's ETag and LastModified, as HEAD shows them afterwards. */
function assertCopyResult(r: { CopyObjectResult?: { ETag?: string; LastModified?: Date } }, head: ReturnType<typeof shown>, message: string) {
  assert.deepEqual(
    { ETag: r.CopyObjectResult?.ETag, LastModified: r.CopyObjectResult?.LastModified?.getTime() },
    { ETag: head.ETag, LastModified: head.LastModified },
    `${message}: CopyObjectResult`,
  );
}

test('HEAD follows CopyObject onto a cached key: REPLACE onto itself and from another key, COPY from another key', async () => {
  const B = 'heads';
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy/self', Body: 'self body', ...FULL }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy/dest', Body: 'dest body', ContentType: 'text/html', Metadata: { was: 'dest' } }));
  await s3.send(
    new PutObjectCommand({ Bucket: 'copies', Key: 'copy source', Body: 'source body, longer', ContentType: 'image/png', Metadata: { was: 'source' } }),
  );
  const self = await headAndGet(B, 'copy/self', 'self body', 'before the copy');
  await headAndGet(B, 'copy/dest', 'dest body', 'before the copy');

  // REPLACE onto itself: same body and ETag, the new headers only.
  const r1 = await s3.send(
    new CopyObjectCommand({
      Bucket: B,
      Key: 'copy/self',
      CopySource: `${B}/copy/self`,
      MetadataDirective: 'REPLACE',
      ContentType: 'text/csv',
      Metadata: { replaced: 'yes' },
    }),
  );
  const replaced = await headAndGet(B, 'copy/self', 'self body', 'after a REPLACE copy onto itself');
  assertCopyResult(r1, replaced, 'REPLACE onto itself');
  assert.equal(replaced.ETag, self.ETag);
  assert.equal(replaced.ContentType, 'text/csv');
  assert.deepEqual(replaced.Metadata, { replaced: 'yes' });
  assert.equal(replaced.CacheControl, undefined, 'replaced, not merged');
  assert.equal(replaced.StorageClass, undefined);

  // COPY (the default) from another bucket onto a cached and listed key: the source's body and metadata.
  await listMeta(B);
  const r2 = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy/dest', CopySource: 'copies/copy%20source' }));
  const copied = await headAndGet(B, 'copy/dest', 'source body, longer', 'after a COPY onto an existing key');
  assertCopyResult(r2, copied, 'COPY onto a cached key');
  assert.equal(copied.ContentType, 'image/png');
  assert.deepEqual(copied.Metadata, { was: 'source' });

  // REPLACE from another key onto a cached (and listed) key: the source's body, the request's metadata.
  await headAndGet(B, 'copy/dest', 'source body, longer', 'cached again');
  await listMeta(B);
  const r3 = await s3.send(
    new CopyObjectCommand({
      Bucket: B,
      Key: 'copy/dest',
      CopySource: `${B}/copy/self`,
      MetadataDirective: 'REPLACE',
      ContentType: 'application/xml',
      ContentLanguage: 'fr',
      Metadata: { third: '3' },
    }),
  );
  const again = await headAndGet(B, 'copy/dest', 'self body', 'after a REPLACE copy from another key');
  assertCopyResult(r3, again, 'REPLACE from another key onto a cached key');
  assert.equal(again.ContentType, 'application/xml');
  assert.equal(again.ContentLanguage, 'fr');
  assert.deepEqual(again.Metadata, { third: '3' });
  assert.equal((await headAndGet(B, 'copy/self', 'self body', 'the source is unchanged')).ContentType, 'text/csv');
});

test('HEAD and GET of a cached key answer 404 after a delete or a multi-delete, and show a re-put or a multipart completion', async () => {
  const B = 'heads';
  for (const Key of ['gone/1', 'gone/2', 'gone/3', 'mp']) await s3.send(new PutObjectCommand({ Bucket: B, Key, Body: `body of ${Key}`, ...FULL }));
  for (const Key of ['gone/1', 'gone/2', 'gone/3', 'mp']) await headAndGet(B, Key, `body of ${Key}`, 'before');

  await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'gone/1' }));
  assert.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'gone/1' }))), 404);
  assert.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'gone/1' }))), 404);
  assert.equal((await raw('HEAD', B, 'gone/1')).status, 404);
  // The last two keys of a folder at once: each delete removes the folder if it finds it empty.
  await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'gone/2' }, { Key: 'gone/3' }] } }));
  for (const Key of ['gone/2', 'gone/3']) {
    assert.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket: B, Key }))), 404, `${Key} after a multi-delete`);
    assert.equal(await statusOf(s3.send(new GetObjectCommand({ Bucket: B, Key }))), 404);
  }

  // Put again: the new object, none of the old metadata.
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'gone/1', Body: 'back again', ContentType: 'text/markdown' }));
  const back = await headAndGet(B, 'gone/1', 'back again', 'after a delete and a put again');
  assert.equal(back.ContentType, 'text/markdown');
  assert.deepEqual(back.Metadata, {});

  // Multipart completion onto a cached key: its size, ETag and the upload's headers.
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp', ContentType: 'video/mp4', Metadata: { via: 'multipart' } }));
  const part = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: 'the only part' }));
  await headAndGet(B, 'mp', 'body of mp', 'with an upload in progress');
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
  );
  const completed = await headAndGet(B, 'mp', 'the only part', 'after a multipart completion');
  assert.equal(completed.ContentType, 'video/mp4');
  assert.deepEqual(completed.Metadata, { via: 'multipart' });
  assert.equal(completed.CacheControl, undefined);
});

test('a deleted and re-created bucket answers HEAD from its own state, not the cached one', async () => {
  const B = 'heads-again';
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'k body', ContentType: 'text/plain' }));
  await headAndGet(B, 'k', 'k body', 'before');
  await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
  await s3.send(new DeleteBucketCommand({ Bucket: B }));
  const noBucket = await raw('HEAD', B, 'k');
  assert.equal(noBucket.status, 404);
  assert.match((await raw('GET', B, 'k')).body, /NoSuchBucket/);
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  assert.match((await raw('GET', B, 'k')).body, /NoSuchKey/);
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'new k', ContentType: 'text/x-new' }));
  assert.equal((await headAndGet(B, 'k', 'new k', 'in the re-created bucket')).ContentType, 'text/x-new');
});

test("a bucket's CORS configuration, read by every object request, follows PutBucketCors and DeleteBucketCors", async () => {
  const B = 'heads';
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cors', Body: 'cors' }));
  const origin = { origin: 'http://app.example' };
  assert.equal((await raw('HEAD', B, 'cors', origin)).headers['access-control-allow-origin'], undefined);
  await s3.send(
    new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['http://app.example'], AllowedMethods: ['GET', 'HEAD'] }] } }),
  );
  assert.equal((await raw('HEAD', B, 'cors', origin)).headers['access-control-allow-origin'], 'http://app.example');
  assert.equal((await raw('GET', B, 'cors', origin)).headers['access-control-allow-origin'], 'http://app.example');
  await s3.send(new DeleteBucketCorsCommand({ Bucket: B }));
  assert.equal((await raw('HEAD', B, 'cors', origin)).headers['access-control-allow-origin'], undefined);
});

test('a warm HEAD reads nothing from disk; a write through S3 refreshes it', async () => {
  const B = 'heads';
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'warm', Body: 'warm body', ContentType: 'text/plain' }));
  const warm = await headAndGet(B, 'warm', 'warm body', 'warm');
  // Behind the server's back (a test server's directory is only ever written through S3): not seen.
  const objectFile = join(server.directory, B, 'warm._S3rver_object');
  writeFileSync(`${objectFile}.md5`, createHash('md5').update('changed on disk').digest('hex'));
  writeFileSync(join(server.directory, B, 'warm._S3rver_metadata.json'), JSON.stringify({ 'content-type': 'changed/on-disk' }));
  assert.deepEqual(shown(await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'warm' }))), warm, 'a warm HEAD reads nothing from disk');
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'warm', Body: 'rewritten', ContentType: 'text/x-rewritten' }));
  assert.equal((await headAndGet(B, 'warm', 'rewritten', 'after a put')).ContentType, 'text/x-rewritten');
});

test("getBucket's XML is what s3rver's own j2xParser makes of the same body", () => {
  const require = createRequire(import.meta.url);
  const { bodyToXml } = require('../../src/testing/s3rver-patches.cjs') as { bodyToXml: (body: object) => string };
  const s3rverRequire = createRequire(require.resolve('s3rver'));
  const { j2xParser } = s3rverRequire('fast-xml-parser') as { j2xParser: new (o: object) => { parse(b: object): string } };
  const he = s3rverRequire('he') as { escape(s: string): string };
  // As s3rver.js configures it.
  const parser = new j2xParser({ ignoreAttributes: false, attrNodeName: '@', tagValueProcessor: (a: unknown) => he.escape(String(a)) });
  const tricky = ['a&b', '<x>', `quote " apostrophe ' backtick \``, 'nl\nkey', '\u{1F600} é ~', '&amp;', ''];
  const bodies = [
    { ListBucketResult: { '@': { xmlns: 'http://doc.s3.amazonaws.com/2006-03-01/' }, Name: 'b', Prefix: '', Contents: [], CommonPrefixes: [] } },
    {
      ListBucketResult: {
        '@': { xmlns: 'http://doc.s3.amazonaws.com/2006-03-01/' },
        Name: 'keys',
        Prefix: 'p&<',
        StartAfter: undefined,
        ContinuationToken: 'tok+/=',
        NextContinuationToken: 'next',
        KeyCount: 9,
        Marker: '',
        MaxKeys: '1000',
        Delimiter: '/',
        IsTruncated: true,
        Empty: null,
        Contents: tricky.map((Key, n) => ({
          Key,
          LastModified: new Date(1_700_000_000_000 + n * 1000).toISOString(),
          ETag: md5(Key),
          Size: n * 1000,
          Owner: n % 2 ? { ID: 'id&', DisplayName: 'name<' } : undefined,
          StorageClass: 'STANDARD',
        })),
        CommonPrefixes: tricky.map((Prefix) => ({ Prefix })),
      },
    },
    { ListBucketResult: { '@': { xmlns: 'x' }, IsTruncated: false, Contents: [{ Key: 'only', Size: 0 }], CommonPrefixes: [] } },
  ];
  for (const body of bodies) {
    assert.equal(bodyToXml(body), '<?xml version="1.0" encoding="UTF-8"?>\n' + parser.parse(body));
  }
});
