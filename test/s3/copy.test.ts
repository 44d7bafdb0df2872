// The native engine's copy, HEAD and delete against real s3rver instances: server-side and streamed
// copies keep headers, metadata and storage class; large copies stream with bounded memory; 501 falls
// back to streaming; verification, cancellation and batched deletes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Readable, Transform, pipeline } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { copyObject, copySourceOf, partSizeFor, verifyCopy } from '../../src/s3/copy.ts';
import { deleteObjects, describeS3Error, headObject, isEncryptedForEtag, type HeadResult } from '../../src/s3/objects.ts';
import { S3migError } from '../../src/core/errors.ts';
import { Secret } from '../../src/core/secret.ts';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';

const MiB = 1024 * 1024;
const FAST_RETRY = { attempts: 3, baseMs: 1, maxMs: 5 };

let serverA: LocalS3;
let serverB: LocalS3;
const connections: S3Connection[] = [];

/** A new connection (its own middleware stack and capability memory) to a test server. */
function conn(server: LocalS3, retry = FAST_RETRY): S3Connection {
  const c = connect(
    { url: server.endpoint, region: 'us-east-1', pathStyle: true },
    { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) },
    { retry },
  );
  connections.push(c);
  return c;
}

before(async () => {
  [serverA, serverB] = await Promise.all([startLocalS3({ buckets: ['src', 'dst', 'del'] }), startLocalS3({ buckets: ['dst'] })]);
});

after(async () => {
  for (const c of connections) c.destroy();
  await Promise.all([serverA?.stop(), serverB?.stop()]);
});

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

async function put(c: S3Connection, bucket: string, key: string, body: Buffer | string, extra: Partial<PutObjectCommandInput> = {}): Promise<void> {
  await c.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

/** Streams an object through an MD5: its hash and length, without holding it. */
async function fetchDigest(c: S3Connection, bucket: string, key: string): Promise<{ md5: string; size: number }> {
  const out = await c.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of out.Body as Readable) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: hash.digest('hex'), size };
}

/** Uploads `size` random bytes generated as they are sent; returns their MD5. */
async function putLarge(c: S3Connection, bucket: string, key: string, size: number, extra: Partial<PutObjectCommandInput> = {}): Promise<string> {
  const hash = createHash('md5');
  async function* chunks() {
    for (let left = size; left > 0; left -= MiB) {
      const chunk = randomBytes(Math.min(MiB, left));
      hash.update(chunk);
      yield chunk;
    }
  }
  await new Upload({ client: c.client, params: { Bucket: bucket, Key: key, Body: Readable.from(chunks()), ...extra }, partSize: 8 * MiB, queueSize: 2 }).done();
  return hash.digest('hex');
}

const seedAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
after(() => seedAgent.destroy());

/**
 * A one-byte object stored with a bare anonymous PUT (s3rver accepts those): seeding thousands of
 * objects this way costs a tenth of the CPU of signed SDK requests, and the code under test still
 * talks to the server through the SDK.
 */
function rawPut(server: LocalS3, bucket: string, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const req = httpRequest({ host: '127.0.0.1', port: server.port, method: 'PUT', path, agent: seedAgent, headers: { 'content-length': 1 } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT ${key}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end('x');
  });
}

interface Recorder {
  commands: string[];
  count(name: string): number;
}

/** Records the commands a connection sends; `before` may throw a fabricated error instead of sending. */
function record(c: S3Connection, before?: (commandName: string, input: Record<string, unknown>) => void): Recorder {
  const commands: string[] = [];
  c.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      commands.push(name);
      before?.(name, args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize', name: 'testRecorder' },
  );
  return { commands, count: (name) => commands.filter((n) => n === name).length };
}

/** An error shaped as the SDK throws for an S3 error answer. */
function s3Error(code: string, status: number): Error {
  return Object.assign(new Error(`${code} (fabricated)`), { name: code, Code: code, $metadata: { httpStatusCode: status } });
}

const HEADERS = {
  ContentType: 'text/plain; charset=utf-8',
  ContentEncoding: 'gzip',
  CacheControl: 'max-age=60, private',
  ContentDisposition: 'attachment; filename="report.txt"',
  ContentLanguage: 'de-CH',
  Expires: new Date('2031-02-03T04:05:06Z'),
  Metadata: { owner: 'ops-team', 'trace-id': 'abc-123' },
} satisfies Partial<PutObjectCommandInput>;

function assertSameAttributes(dest: HeadResult | null, source: HeadResult | null): void {
  assert.ok(dest && source);
  for (const field of ['contentType', 'contentEncoding', 'cacheControl', 'contentDisposition', 'contentLanguage', 'expires', 'storageClass'] as const) {
    assert.equal(dest[field], source[field], field);
  }
  assert.deepEqual(dest.metadata, source.metadata);
}

const names = { src: 'src/a', dst: 'dst/a' };
function head(fields: Partial<HeadResult>): HeadResult {
  return { size: 10, etag: '9b2cf535f27731c974343645a3985328', lastModified: '', metadata: {}, ...fields };
}

describe('verification (pure)', () => {
  test('plain MD5 ETags on both sides are compared; multipart, empty and SSE-KMS/SSE-C ETags fall back to the size', () => {
    assert.equal(verifyCopy(head({}), head({}), names), 'etag');
    assert.equal(verifyCopy(head({}), head({ etag: '9B2CF535F27731C974343645A3985328' }), names), 'etag');
    assert.equal(verifyCopy(head({ etag: '9b2cf535f27731c974343645a3985328-3' }), head({}), names), 'size');
    assert.equal(verifyCopy(head({}), head({ etag: '0cc175b9c0f1b6a831c399e269772661-2' }), names), 'size');
    assert.equal(verifyCopy(head({ etag: '' }), head({}), names), 'size');
    assert.equal(verifyCopy(head({ serverSideEncryption: 'aws:kms' }), head({ etag: '0cc175b9c0f1b6a831c399e269772661' }), names), 'size');
    assert.equal(verifyCopy(head({}), head({ etag: '0cc175b9c0f1b6a831c399e269772661', serverSideEncryption: 'aws:kms:dsse' }), names), 'size');
    assert.equal(verifyCopy(head({ sseCustomerAlgorithm: 'AES256' }), head({ etag: '0cc175b9c0f1b6a831c399e269772661' }), names), 'size');
    assert.equal(verifyCopy(head({ serverSideEncryption: 'AES256' }), head({}), names), 'etag');
  });

  test('a size or ETag difference, or a missing destination, is a one-line S3MIG_COPY_FAILED naming both keys', () => {
    const cases: [HeadResult | null, RegExp][] = [
      [head({ size: 9 }), /size 10 in the source, 9 in the destination/],
      [head({ etag: '0cc175b9c0f1b6a831c399e269772661' }), /ETag 9b2cf535f27731c974343645a3985328 in the source, 0cc175b9c0f1b6a831c399e269772661 in the destination/],
      [head({ size: 11, etag: '0cc175b9c0f1b6a831c399e269772661-2' }), /size 10 in the source, 11/],
      [null, /does not exist/],
    ];
    for (const [dest, why] of cases) {
      assert.throws(
        () => verifyCopy(head({}), dest, names),
        (err: unknown) => err instanceof S3migError && err.code === 'S3MIG_COPY_FAILED' && why.test(err.message) && err.message.includes('src/a') && err.message.includes('dst/a') && !err.message.includes('\n'),
      );
    }
  });

  test('isEncryptedForEtag, copy-source encoding and part sizes', () => {
    assert.equal(isEncryptedForEtag({ serverSideEncryption: 'aws:kms' }), true);
    assert.equal(isEncryptedForEtag({ serverSideEncryption: 'aws:kms:dsse' }), true);
    assert.equal(isEncryptedForEtag({ sseCustomerAlgorithm: 'AES256' }), true);
    assert.equal(isEncryptedForEtag({ serverSideEncryption: 'AES256' }), false);
    assert.equal(isEncryptedForEtag({}), false);
    assert.equal(copySourceOf('b', 'ü/ñ/q?r#s&t=u 50%+x'), 'b/%C3%BC/%C3%B1/q%3Fr%23s%26t%3Du%2050%25%2Bx');
    assert.equal(partSizeFor(100), 16 * MiB);
    assert.equal(partSizeFor(100, MiB), 5 * MiB);
    assert.equal(partSizeFor(5 * 1024 * 1024 * MiB), 525 * MiB); // 5 TiB in at most 10,000 parts, whole MiB
    assert.ok(Math.ceil((5 * 1024 * 1024 * MiB) / partSizeFor(5 * 1024 * 1024 * MiB)) <= 10_000);
  });
});

describe('headObject', () => {
  test('null for a missing key; the fields of an existing one', async (t) => {
    const a = conn(serverA);
    assert.equal(await headObject(a, 'src', 'no/such/key', { signal: t.signal }), null);
    await put(a, 'src', 'head/one', 'hello', HEADERS);
    const h = await headObject(a, 'src', 'head/one', { signal: t.signal });
    assert.ok(h);
    assert.equal(h.size, 5);
    assert.equal(h.etag, md5('hello'));
    assert.match(h.lastModified, /^\d{4}-\d\d-\d\dT/);
    assert.equal(h.contentType, HEADERS.ContentType);
    assert.equal(h.expires, 'Mon, 03 Feb 2031 04:05:06 GMT');
    assert.deepEqual(h.metadata, HEADERS.Metadata);
    assert.equal(h.storageClass, undefined);
  });

  test('any other failure is a one-line S3MIG_S3_REQUEST error naming the S3 code', async (t) => {
    const a = conn(serverA);
    const rec = record(a, () => {
      throw s3Error('Forbidden', 403);
    });
    await assert.rejects(headObject(a, 'src', 'k', { signal: t.signal }), { code: 'S3MIG_S3_REQUEST', message: 'HEAD src/k failed: Forbidden (HTTP 403)' });
    assert.equal(rec.count('HeadObject'), 1); // not retryable
  });
});

describe('server-side copy (same server)', () => {
  test('CopyObject keeps content headers, user metadata and storage class, verified by ETag', async (t) => {
    const a = conn(serverA);
    const rec = record(a);
    await put(a, 'src', 'server/doc.txt', 'some content', { ...HEADERS, StorageClass: 'STANDARD_IA' });
    const source = await headObject(a, 'src', 'server/doc.txt');
    assert.equal(source?.storageClass, 'STANDARD_IA'); // s3rver stores x-amz-storage-class and returns it on HEAD
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'server/doc.txt', dst: a, dstBucket: 'dst', dstKey: 'server/doc.txt', expected: { size: 12, etag: md5('some content') }, signal: t.signal });
    assert.deepEqual(result, { method: 'server-copy', size: 12, etag: md5('some content'), verified: 'etag' });
    assert.equal(rec.count('CopyObject'), 1);
    assert.equal(rec.count('GetObject'), 0);
    const dest = await headObject(a, 'dst', 'server/doc.txt');
    assertSameAttributes(dest, source);
    assert.equal(dest?.storageClass, 'STANDARD_IA');
    assert.equal((await fetchDigest(a, 'dst', 'server/doc.txt')).md5, md5('some content'));
  });

  test('an object without a storage class is copied without one (STANDARD is not sent)', async (t) => {
    const a = conn(serverA);
    const sent: Record<string, unknown>[] = [];
    record(a, (name, input) => {
      if (name === 'CopyObject') sent.push(input);
    });
    await put(a, 'src', 'server/plain', 'x');
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'server/plain', dst: a, dstBucket: 'dst', dstKey: 'server/plain', signal: t.signal });
    assert.equal(result.method, 'server-copy');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.StorageClass, undefined);
    assert.equal(sent[0]!.MetadataDirective, 'COPY');
    assert.equal(sent[0]!.CopySource, 'src/server/plain');
    assert.equal(sent[0]!.CopySourceIfMatch, `"${md5('x')}"`);
    assert.equal((await headObject(a, 'dst', 'server/plain'))?.storageClass, undefined);
  });

  test('a source that changed since it was listed is still copied, and reported', async (t) => {
    const a = conn(serverA);
    await put(a, 'src', 'server/changed', 'new content');
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'server/changed', dst: a, dstBucket: 'dst', dstKey: 'server/changed', expected: { size: 3, etag: md5('old') }, signal: t.signal });
    assert.equal(result.sourceChanged, true);
    assert.equal(result.size, 11);
    assert.equal((await fetchDigest(a, 'dst', 'server/changed')).md5, md5('new content'));
  });

  test('UploadPartCopy answered 501 falls back to streaming, and the connection remembers it', async (t) => {
    const a = conn(serverA);
    const inputs: [string, Record<string, unknown>][] = [];
    const rec = record(a, (name, input) => inputs.push([name, input]));
    const data = randomBytes(6 * MiB + 123);
    await put(a, 'src', 'server/big', data, HEADERS);
    const request = { src: a, srcBucket: 'src', srcKey: 'server/big', dst: a, dstBucket: 'dst', multipartCopyThresholdBytes: MiB, partSizeBytes: 5 * MiB, signal: t.signal };
    const first = await copyObject({ ...request, dstKey: 'server/big-1' });
    assert.deepEqual(first, { method: 'stream', size: data.length, etag: md5(data), verified: 'etag' });
    assert.equal(rec.count('CreateMultipartUpload'), 2); // the server-side attempt, then the streamed upload
    assert.ok(rec.count('UploadPartCopy') >= 1);
    assert.equal(rec.count('AbortMultipartUpload'), 1);
    assert.equal(rec.count('GetObject'), 1);
    // The server-side attempt asked for what a server that implements it needs.
    const create = inputs.find(([n]) => n === 'CreateMultipartUpload')![1];
    assert.equal(create.ContentType, HEADERS.ContentType);
    assert.equal(create.CacheControl, HEADERS.CacheControl);
    assert.deepEqual(create.Metadata, HEADERS.Metadata);
    const partCopy = inputs.find(([n]) => n === 'UploadPartCopy')![1];
    assert.equal(partCopy.CopySource, 'src/server/big');
    assert.equal(partCopy.CopySourceIfMatch, `"${md5(data)}"`);
    assert.match(String(partCopy.CopySourceRange), /^bytes=(0-5242879|5242880-6291578)$/);
    assert.deepEqual(await fetchDigest(a, 'dst', 'server/big-1'), { md5: md5(data), size: data.length });
    assertSameAttributes(await headObject(a, 'dst', 'server/big-1'), await headObject(a, 'src', 'server/big'));

    rec.commands.length = 0;
    const second = await copyObject({ ...request, dstKey: 'server/big-2' });
    assert.equal(second.method, 'stream');
    assert.equal(rec.count('UploadPartCopy'), 0);
    assert.deepEqual(await fetchDigest(a, 'dst', 'server/big-2'), { md5: md5(data), size: data.length });

    // CopyObject itself still works on this server: small objects keep being copied server-side.
    const small = await copyObject({ ...request, srcKey: 'server/plain', dstKey: 'server/plain-2' });
    assert.equal(small.method, 'server-copy');
  });

  test('CopyObject answered 501 falls back to streaming', async (t) => {
    const a = conn(serverA);
    const rec = record(a, (name) => {
      if (name === 'CopyObject') throw s3Error('NotImplemented', 501);
    });
    await put(a, 'src', 'server/no-copy', 'payload', HEADERS);
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'server/no-copy', dst: a, dstBucket: 'dst', dstKey: 'server/no-copy', signal: t.signal });
    assert.equal(result.method, 'stream');
    assert.equal(result.verified, 'etag');
    assertSameAttributes(await headObject(a, 'dst', 'server/no-copy'), await headObject(a, 'src', 'server/no-copy'));
    rec.commands.length = 0;
    await copyObject({ src: a, srcBucket: 'src', srcKey: 'server/no-copy', dst: a, dstBucket: 'dst', dstKey: 'server/no-copy-2', signal: t.signal });
    assert.equal(rec.count('CopyObject'), 0);
  });

  test('a listed object (ETag, size and storage class known) is copied with one CopyObject and no HEAD, verified by its answer', async (t) => {
    const a = conn(serverA);
    const sent: Record<string, unknown>[] = [];
    const rec = record(a, (name, input) => {
      if (name === 'CopyObject') sent.push(input);
    });
    await put(a, 'src', 'listed/doc.txt', 'listed content', { ...HEADERS, StorageClass: 'STANDARD_IA' });
    await put(a, 'src', 'listed/plain.txt', 'plain');
    rec.commands.length = 0;
    const result = await copyObject({
      src: a,
      srcBucket: 'src',
      srcKey: 'listed/doc.txt',
      dst: a,
      dstBucket: 'dst',
      dstKey: 'listed/doc.txt',
      expected: { size: 14, etag: md5('listed content'), storageClass: 'STANDARD_IA' },
      signal: t.signal,
    });
    assert.deepEqual(result, { method: 'server-copy', size: 14, etag: md5('listed content'), verified: 'etag' });
    assert.deepEqual(rec.commands, ['CopyObject']);
    assert.equal(sent[0]!.CopySourceIfMatch, `"${md5('listed content')}"`);
    assertSameAttributes(await headObject(a, 'dst', 'listed/doc.txt'), await headObject(a, 'src', 'listed/doc.txt'));
    // STANDARD is the server's default: not sent.
    await copyObject({ src: a, srcBucket: 'src', srcKey: 'listed/plain.txt', dst: a, dstBucket: 'dst', dstKey: 'listed/plain.txt', expected: { size: 5, etag: md5('plain'), storageClass: 'STANDARD' }, signal: t.signal });
    assert.equal(sent[1]!.StorageClass, undefined);
  });

  test('a listed object that changed since the listing fails the pinned copy and goes the full way: copied as it is now, and reported', async (t) => {
    const a = conn(serverA);
    const rec = record(a);
    await put(a, 'src', 'listed/changed', 'newer content');
    rec.commands.length = 0;
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'listed/changed', dst: a, dstBucket: 'dst', dstKey: 'listed/changed', expected: { size: 3, etag: md5('old'), storageClass: 'STANDARD' }, signal: t.signal });
    assert.equal(result.sourceChanged, true);
    assert.deepEqual(rec.commands, ['CopyObject', 'HeadObject', 'CopyObject', 'HeadObject']);
    assert.equal((await fetchDigest(a, 'dst', 'listed/changed')).md5, md5('newer content'));
  });

  test('copying an object onto itself is refused', async () => {
    const a = conn(serverA);
    await assert.rejects(copyObject({ src: a, srcBucket: 'src', srcKey: 'k', dst: a, dstBucket: 'src', dstKey: 'k' }), { code: 'S3MIG_COPY_FAILED' });
  });
});

describe('streamed copy (different servers)', () => {
  for (const [label, size] of [
    ['0 bytes', 0],
    ['small', 1234],
  ] as const) {
    test(`${label}: content, headers, metadata and storage class arrive`, async (t) => {
      const a = conn(serverA);
      const b = conn(serverB);
      const data = randomBytes(size);
      const key = `stream/${label}`;
      await put(a, 'src', key, data, { ...HEADERS, StorageClass: 'REDUCED_REDUNDANCY' });
      const result = await copyObject({ src: a, srcBucket: 'src', srcKey: key, dst: b, dstBucket: 'dst', dstKey: key, expected: { size, etag: md5(data) }, signal: t.signal });
      assert.deepEqual(result, { method: 'stream', size, etag: md5(data), verified: 'etag' });
      const dest = await headObject(b, 'dst', key);
      assertSameAttributes(dest, await headObject(a, 'src', key));
      assert.equal(dest?.storageClass, 'REDUCED_REDUNDANCY');
      assert.deepEqual(await fetchDigest(b, 'dst', key), { md5: md5(data), size });
    });
  }

  test('40 MiB in 5 MiB parts: intact, at most queueSize parts in flight and in memory, never the whole object', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    const size = 40 * MiB + 7;
    const partSize = 5 * MiB;
    const queueSize = 2;
    const sourceMd5 = await putLarge(a, 'src', 'stream/large', size, HEADERS);
    // Bytes taken from the source's GET body (through a pass-through with its own back-pressure) minus
    // bytes of parts the destination has acknowledged: what the copy holds in memory at most.
    let read = 0;
    let acknowledged = 0;
    let maxHeld = 0;
    a.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'GetObjectCommand') {
          const output = out.output as { Body?: unknown };
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              read += chunk.length;
              maxHeld = Math.max(maxHeld, read - acknowledged);
              callback(null, chunk);
            },
          });
          output.Body = pipeline(output.Body as Readable, counter, () => undefined);
        }
        return out;
      },
      { step: 'initialize', name: 'readCounter' },
    );
    let inFlight = 0;
    let maxInFlight = 0;
    let parts = 0;
    b.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand') return next(args);
        parts++;
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          const out = await next(args);
          acknowledged += ((args.input as { Body: Buffer }).Body).length;
          return out;
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'partCounter' },
    );
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
    let result;
    try {
      result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/large', dst: b, dstBucket: 'dst', dstKey: 'stream/large', partSizeBytes: partSize, queueSize, signal: t.signal });
    } finally {
      clearInterval(sampler);
    }
    t.diagnostic(`held at most ${(maxHeld / MiB).toFixed(1)} MiB; RSS grew by ${((peakRss - rssBefore) / MiB).toFixed(1)} MiB`);
    assert.deepEqual(result, { method: 'stream', size, etag: sourceMd5, verified: 'etag' }); // s3rver gives multipart uploads a plain MD5
    assert.equal(parts, 9);
    assert.equal(read, size);
    assert.ok(maxInFlight <= queueSize, `at most ${queueSize} parts in flight, saw ${maxInFlight}`);
    // queueSize parts being sent plus the one being filled (and stream buffers): 15 MiB here, never 40.
    assert.ok(maxHeld <= (queueSize + 1) * partSize + MiB, `held ${maxHeld} bytes`);
    assert.deepEqual(await fetchDigest(b, 'dst', 'stream/large'), { md5: sourceMd5, size });
    assertSameAttributes(await headObject(b, 'dst', 'stream/large'), await headObject(a, 'src', 'stream/large'));
  });

  test('a retryable failure mid-upload retries the whole streamed copy from a new GET', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    const data = randomBytes(11 * MiB);
    await put(a, 'src', 'stream/retry', data);
    const recA = record(a);
    let failures = 0;
    record(b, (name) => {
      if (name === 'UploadPart' && failures++ === 0) throw s3Error('SlowDown', 503);
    });
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/retry', dst: b, dstBucket: 'dst', dstKey: 'stream/retry', partSizeBytes: 5 * MiB, signal: t.signal });
    assert.equal(result.verified, 'etag');
    assert.equal(recA.count('GetObject'), 2);
    assert.deepEqual(await fetchDigest(b, 'dst', 'stream/retry'), { md5: md5(data), size: data.length });
  });

  test('a source that changes during the copy (412 on If-Match) is copied again from a new HEAD, once', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    await put(a, 'src', 'stream/moving', 'moving target');
    const ifMatch: unknown[] = [];
    let preconditionFailures = 1;
    const rec = record(a, (name, input) => {
      if (name !== 'GetObject') return;
      ifMatch.push(input.IfMatch);
      if (preconditionFailures-- > 0) throw s3Error('PreconditionFailed', 412);
    });
    const request = { src: a, srcBucket: 'src', srcKey: 'stream/moving', dst: b, dstBucket: 'dst', dstKey: 'stream/moving', signal: t.signal };
    const result = await copyObject(request);
    assert.equal(result.verified, 'etag');
    assert.equal(rec.count('HeadObject'), 2);
    assert.deepEqual(ifMatch, [`"${md5('moving target')}"`, `"${md5('moving target')}"`]);

    preconditionFailures = 2;
    await assert.rejects(copyObject(request), {
      code: 'S3MIG_COPY_FAILED',
      message: 'copy of src/stream/moving to dst/stream/moving failed at GET source: the source changed during the copy: PreconditionFailed (HTTP 412)',
    });
  });

  test('a storage class that the destination rejects is dropped, and the result says so', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    await put(a, 'src', 'stream/glacier-ir', 'cold data');
    // The source claims a class that s3rver (the destination) does not know: it answers 400 InvalidStorageClass.
    a.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'HeadObjectCommand') (out.output as { StorageClass?: string }).StorageClass = 'GLACIER_IR';
        return out;
      },
      { step: 'initialize', name: 'fakeStorageClass' },
    );
    const rec = record(b);
    const result = await copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/glacier-ir', dst: b, dstBucket: 'dst', dstKey: 'stream/glacier-ir', signal: t.signal });
    assert.equal(result.storageClassDropped, true);
    assert.equal(result.method, 'stream');
    assert.equal(rec.count('PutObject'), 2);
    assert.equal((await headObject(b, 'dst', 'stream/glacier-ir'))?.storageClass, undefined);
  });

  test('a missing source is a one-line S3MIG_COPY_FAILED naming both keys, without credentials', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    await assert.rejects(copyObject({ src: a, srcBucket: 'src', srcKey: 'no/such\nkey', dst: b, dstBucket: 'dst', dstKey: 'x', signal: t.signal }), (err: unknown) => {
      assert.ok(err instanceof S3migError);
      assert.equal(err.code, 'S3MIG_COPY_FAILED');
      assert.match(err.message, /src\/no\/such\\x0akey/);
      assert.match(err.message, /dst\/x/);
      assert.match(err.message, /404/);
      assert.ok(!err.message.includes('\n'));
      assert.ok(!err.message.includes('S3RVER'));
      return true;
    });
  });

  test('a request error names the failing step and the S3 error code', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    await put(a, 'src', 'stream/denied', 'x');
    record(b, (name) => {
      if (name === 'PutObject') throw s3Error('AccessDenied', 403);
    });
    await assert.rejects(copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/denied', dst: b, dstBucket: 'dst', dstKey: 'stream/denied', signal: t.signal }), (err: unknown) => {
      assert.ok(err instanceof S3migError);
      assert.equal(err.message, 'copy of src/stream/denied to dst/stream/denied failed at PutObject: AccessDenied (HTTP 403)');
      return true;
    });
  });

  test('cancellation: an aborted signal stops a streamed copy mid-upload with its reason', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    await putLarge(a, 'src', 'stream/cancel', 16 * MiB);
    const controller = new AbortController();
    const reason = new S3migError('S3MIG_PAUSED', 'paused');
    record(b, (name) => {
      if (name === 'UploadPart') controller.abort(reason);
    });
    const started = Date.now();
    await assert.rejects(
      copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/cancel', dst: b, dstBucket: 'dst', dstKey: 'stream/cancel', partSizeBytes: 5 * MiB, signal: controller.signal }),
      (err: unknown) => err === reason,
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal(await headObject(b, 'dst', 'stream/cancel', { signal: t.signal }), null);

    const canceled = new AbortController();
    canceled.abort();
    await assert.rejects(copyObject({ src: a, srcBucket: 'src', srcKey: 'stream/cancel', dst: b, dstBucket: 'dst', dstKey: 'x', signal: canceled.signal }), { code: 'S3MIG_CANCELED' });
  });
});

describe('deleteObjects', () => {
  test('2,500 keys in batches of 1,000: all deleted, none failed', async (t) => {
    const a = conn(serverA, { ...FAST_RETRY, attempts: 6 });
    const keys = Array.from({ length: 2500 }, (_, i) => `batch/${String(i).padStart(5, '0')}${i % 7 === 0 ? ' ü+&' : ''}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < keys.length) await rawPut(serverA, 'del', keys[next++]!);
      }),
    );
    assert.equal((await headObject(a, 'del', keys[7]!))?.size, 1);
    const requests: string[][] = [];
    record(a, (name, input) => {
      if (name === 'DeleteObjects') requests.push((input.Delete as { Objects: { Key: string }[] }).Objects.map((o) => o.Key));
    });
    const md5Headers: string[] = [];
    a.client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { method?: string; headers?: Record<string, string> };
        if (request.method === 'POST') md5Headers.push(request.headers?.['content-md5'] ?? '');
        return next(args);
      },
      { step: 'finalizeRequest', name: 'md5Recorder' },
    );
    const result = await deleteObjects(a, 'del', keys, { signal: t.signal });
    assert.ok(md5Headers.length >= 3 && md5Headers.every((h) => /^[A-Za-z0-9+/]{22}==$/.test(h)), 'DeleteObjects carries Content-MD5');
    // Three batches; s3rver races on removing the emptied folder (HTTP 500) now and then, which a retry cures.
    assert.ok(requests.length >= 3 && requests.every((r) => r.length <= 1000), `batch sizes ${requests.map((r) => r.length)}`);
    assert.equal(new Set(requests.flat()).size, keys.length);
    assert.deepEqual(result.failed, []);
    assert.deepEqual([...result.deleted].sort(), [...keys].sort());
    const listed = await a.client.send(new ListObjectsV2Command({ Bucket: 'del', Prefix: 'batch/' }));
    assert.equal(listed.KeyCount ?? 0, 0);
    assert.deepEqual(await deleteObjects(a, 'del', [], { signal: t.signal }), { deleted: [], failed: [] });
  });

  test('DeleteObjects answered 501 falls back to single deletes; per-key errors are reported, not thrown', async (t) => {
    const a = conn(serverA);
    const keys = ['single/a', 'single/b', 'single/c'];
    for (const k of keys) await put(a, 'del', k, 'x');
    const rec = record(a, (name, input) => {
      if (name === 'DeleteObjects') throw s3Error('NotImplemented', 501);
      if (name === 'DeleteObject' && input.Key === 'single/b') throw s3Error('AccessDenied', 403);
    });
    const result = await deleteObjects(a, 'del', keys, { signal: t.signal });
    assert.deepEqual([...result.deleted].sort(), ['single/a', 'single/c']);
    assert.deepEqual(result.failed, [{ key: 'single/b', code: 'AccessDenied', message: 'DeleteObject failed: AccessDenied (HTTP 403)' }]);
    assert.equal(rec.count('DeleteObjects'), 1);
    assert.equal(await headObject(a, 'del', 'single/a'), null);
    assert.ok(await headObject(a, 'del', 'single/b'));
    rec.commands.length = 0;
    await deleteObjects(a, 'del', ['single/b', 'single/c'], { signal: t.signal });
    assert.equal(rec.count('DeleteObjects'), 0); // remembered for this connection
  });

  test('errors of a DeleteObjects batch are reported per key', async (t) => {
    const a = conn(serverA);
    record(a, (name) => {
      if (name === 'DeleteObjects') throw s3Error('AccessDenied', 403);
    });
    const result = await deleteObjects(a, 'del', ['p', 'q'], { signal: t.signal });
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(result.failed.map((f) => [f.key, f.code]), [['p', 'AccessDenied'], ['q', 'AccessDenied']]);
    assert.equal(describeS3Error(s3Error('NoSuchKey', 404)), 'NoSuchKey (HTTP 404)');
  });
});

// Last: server-side copy of these keys needs the s3rver copy-source decoding patch (src/testing/s3rver-patches.cjs).
describe('keys with special characters', () => {
  const KEYS = ['a b', 'x+y', 'ü/ñ', 'q?r#s&t=u', '50%', 'p,q;r:s@t$u'];
  test('copy on the streamed path', async (t) => {
    const a = conn(serverA);
    const b = conn(serverB);
    for (const key of KEYS) {
      await put(a, 'src', `special/${key}`, `content of ${key}`, HEADERS);
      const result = await copyObject({ src: a, srcBucket: 'src', srcKey: `special/${key}`, dst: b, dstBucket: 'dst', dstKey: `special/${key}`, signal: t.signal });
      assert.equal(result.method, 'stream', key);
      assert.equal(result.verified, 'etag', key);
      assert.equal((await fetchDigest(b, 'dst', `special/${key}`)).md5, md5(`content of ${key}`), key);
    }
  });

  test('copy on the server-side path', async (t) => {
    const a = conn(serverA);
    for (const key of KEYS) {
      await put(a, 'src', `special/${key}`, `content of ${key}`, HEADERS);
      const result = await copyObject({ src: a, srcBucket: 'src', srcKey: `special/${key}`, dst: a, dstBucket: 'dst', dstKey: `special/${key}`, signal: t.signal });
      assert.equal(result.method, 'server-copy', key);
      assert.equal(result.verified, 'etag', key);
      assert.equal((await fetchDigest(a, 'dst', `special/${key}`)).md5, md5(`content of ${key}`), key);
    }
  });
});
