// The fault proxy: signed requests pass through unchanged (bodies streamed both ways), rules answer S3
// errors or reset connections for exactly the matching requests they are given, latency delays.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../../src/testing/fault-proxy.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';

const BUCKET = 'proxied';
let server: LocalS3;

before(async () => {
  server = await startLocalS3({ buckets: [BUCKET] });
  const direct = client(server.endpoint);
  try {
    await direct.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'hello' }));
  } finally {
    direct.destroy();
  }
});

after(async () => {
  await server?.stop();
});

function client(endpoint: string): S3Connection {
  return connect({ url: endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
}

async function proxied(t: TestContext): Promise<{ proxy: FaultProxy; s3: S3Connection['client'] }> {
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  const conn = client(proxy.endpoint);
  t.after(async () => {
    conn.destroy();
    await proxy.stop();
  });
  return { proxy, s3: conn.client };
}

type SdkError = Error & { code?: string; $metadata?: { httpStatusCode?: number; requestId?: string } };

async function failure(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (err) {
    return err as SdkError;
  }
  assert.fail('expected the request to fail');
}

const getK = (s3: S3Connection['client']) => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })).then((r) => r.Body!.transformToString());

test('signed PUT, GET, HEAD, List, Copy and DELETE pass through unchanged, bodies streamed both ways', async (t) => {
  const { proxy, s3 } = await proxied(t);
  assert.match(proxy.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(proxy.port, server.port);

  // 3 MiB streamed with a known length (no aws-chunked framing), then read back whole.
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
  const chunks = Array.from({ length: 48 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
  const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'dir/big é+&.bin', Body: Readable.from(chunks), ContentLength: big.length, Metadata: { note: 'through the proxy' } }));
  assert.equal(put.ETag, `"${createHash('md5').update(big).digest('hex')}"`);

  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/big é+&.bin' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(big));
  assert.equal(got.Metadata?.note, 'through the proxy');
  const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/big é+&.bin', Range: 'bytes=100-199' }));
  assert.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(big.subarray(100, 200)));
  assert.equal(ranged.$metadata.httpStatusCode, 206);

  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dir/big é+&.bin' }));
  assert.equal(head.ContentLength, big.length);

  const list = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/' }));
  assert.deepEqual(
    list.Contents?.map((o) => o.Key),
    ['dir/big é+&.bin'],
  );
  await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dir/copy', CopySource: `${BUCKET}/${encodeURIComponent('dir/big é+&.bin')}` }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'dir/big é+&.bin' }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'dir/copy' }));
  const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/' }));
  assert.equal(after.KeyCount, 0);

  // Upstream errors pass through as they are: s3rver's own 404, and its check of the access key
  // (s3rver 3.7.1 checks no SigV4 signature: see the next test for that).
  const missing = await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'no such key' })));
  assert.equal(missing.name, 'NoSuchKey');
  const bad = connect({ url: proxy.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'NOBODY', secretKey: new Secret('x') });
  t.after(() => bad.destroy());
  const denied = await failure(bad.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'k' })));
  assert.equal(denied.name, 'InvalidAccessKeyId');
  assert.equal(denied.$metadata?.httpStatusCode, 403);

  assert.equal(proxy.requests, 11);
});

// SigV4 as S3 checks it, from the request as it arrives upstream. s3rver 3.7.1 does not check V4
// signatures at all, so the proxy's transparency is checked here, by a verifying upstream.
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function sigV4Valid(req: IncomingMessage, secret: string): boolean {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
    req.headers.authorization ?? '',
  );
  if (!auth) return false;
  const [, , date, region, service, signedHeaders, signature] = auth as unknown as string[];
  const url = req.url!;
  const q = url.indexOf('?');
  const query = (q === -1 ? '' : url.slice(q + 1))
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [k, v] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) return false;
  const headers = names.map((n) => {
    const v = req.headers[n];
    return `${n}:${(Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/ +/g, ' ')}\n`;
  });
  const canonical = [req.method, q === -1 ? url : url.slice(0, q), query, headers.join(''), signedHeaders, req.headers['x-amz-content-sha256']].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'], scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex') === signature;
}

test('the proxy keeps SigV4 signatures valid: Host, path, query and signed headers arrive as signed', async (t) => {
  const seen: { method: string; url: string; valid: boolean; bodyOk: boolean }[] = [];
  const verifier = createServer((req, res) => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => {
      const declared = req.headers['x-amz-content-sha256'];
      const bodyOk = declared === 'UNSIGNED-PAYLOAD' || declared === hash.digest('hex');
      seen.push({ method: req.method!, url: req.url!, valid: sigV4Valid(req, 'S3RVER'), bodyOk });
      res.writeHead(200, { 'content-length': 0, 'x-amz-request-id': 'VERIFIER' });
      res.end();
    });
  });
  await new Promise<void>((r) => verifier.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => verifier.close(() => r())));
  const proxy = await startFaultProxy({ upstream: `http://127.0.0.1:${(verifier.address() as AddressInfo).port}` });
  const conn = client(proxy.endpoint);
  const wrong = connect({ url: proxy.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('wrong') });
  t.after(async () => {
    conn.destroy();
    wrong.destroy();
    await proxy.stop();
  });
  const s3 = conn.client;
  const key = 'dir/a b+c&d=e?f#g,h;i:j@k$l%m ü 😀';
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'signed body', ContentType: 'text/plain', Metadata: { 'x-tra': '  spaced   value ' } }));
  await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: 'bytes=0-3' }));
  await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dir/a b+c&=?#', StartAfter: 'ü 😀', MaxKeys: 7, ContinuationToken: 'a+b/c=' }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  await wrong.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));

  assert.deepEqual(
    seen.map((r) => [r.method, r.valid, r.bodyOk]),
    [
      ['PUT', true, true],
      ['GET', true, true],
      ['GET', true, true],
      ['DELETE', true, true],
      ['GET', false, true], // the verifier does catch a bad signature
    ],
  );
  assert.match(seen[0]!.url, /^\/proxied\/dir\/a%20b%2Bc%26d%3De%3Ff%23g%2Ch%3Bi%3Aj%40k%24l%25m%20%C3%BC%20%F0%9F%98%80/);
  assert.equal(proxy.requests, 5);
});

test('each fault kind gives the S3 error the SDK reports', async (t) => {
  const { proxy, s3 } = await proxied(t);
  const cases: [FaultKind, string, number][] = [
    ['accessDenied', 'AccessDenied', 403],
    ['slowDown', 'SlowDown', 503],
    ['internalError', 'InternalError', 500],
    ['notImplemented', 'NotImplemented', 501],
    ['noSuchBucket', 'NoSuchBucket', 404],
    ['invalidAccessKey', 'InvalidAccessKeyId', 403],
  ];
  for (const [fault, name, status] of cases) {
    const remove = proxy.addRule({ match: { method: 'GET', path: /^\/proxied\/k$/ }, fault });
    const err = await failure(getK(s3));
    assert.equal(err.name, name, fault);
    assert.equal(err.$metadata?.httpStatusCode, status, fault);
    assert.match(err.$metadata?.requestId ?? '', /^[0-9A-F]{16}$/, `${fault}: x-amz-request-id`);
    remove();
    assert.equal(await getK(s3), 'hello', `${fault} removed`);
  }
});

test('a fault on HEAD answers the status without a body', async (t) => {
  const { proxy, s3 } = await proxied(t);
  for (const [fault, status] of [
    ['accessDenied', 403],
    ['noSuchBucket', 404],
    ['slowDown', 503],
  ] as const) {
    proxy.clearRules();
    proxy.addRule({ match: { method: 'head' }, fault });
    const err = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'k' })));
    assert.equal(err.$metadata?.httpStatusCode, status, fault);
    assert.equal(await getK(s3), 'hello', 'GET is not matched, and the connection is still good');
  }
});

test('times: n takes exactly n matching requests, then requests pass; non-matching ones are not counted', async (t) => {
  const { proxy, s3 } = await proxied(t);
  proxy.addRule({ match: { method: 'GET', query: /(^|&)list-type=2(&|$)/ }, fault: 'slowDown', times: 2 });
  const list = () => s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));

  assert.equal((await failure(list())).name, 'SlowDown');
  assert.equal(await getK(s3), 'hello', 'a GET of an object does not match the query');
  assert.equal((await failure(list())).name, 'SlowDown');
  for (let i = 0; i < 3; i++) assert.equal((await list()).Contents?.[0]?.Key, 'k');
  assert.equal(proxy.requests, 6);

  // Rules are tried in order; an exhausted one gives way to the next; clearRules removes all.
  proxy.addRule({ match: { header: ['x-amz-content-sha256', /.+/] }, fault: 'internalError', times: 1 });
  proxy.addRule({ match: { method: 'GET' }, fault: 'accessDenied', times: 1 });
  assert.equal((await failure(getK(s3))).name, 'InternalError');
  assert.equal((await failure(getK(s3))).name, 'AccessDenied');
  assert.equal(await getK(s3), 'hello');
  proxy.addRule({ fault: 'notImplemented' });
  assert.equal((await failure(getK(s3))).name, 'NotImplemented');
  proxy.clearRules();
  assert.equal(await getK(s3), 'hello');
  // A header that is absent does not match.
  proxy.addRule({ match: { header: ['x-no-such-header', /.*/] }, fault: 'accessDenied' });
  assert.equal(await getK(s3), 'hello');
});

test('reset destroys the connection without an answer', async (t) => {
  const { proxy, s3 } = await proxied(t);
  proxy.addRule({ match: { method: 'PUT' }, fault: 'reset', times: 1 });
  const err = await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'reset-me', Body: 'x'.repeat(100_000) })));
  assert.ok(err.code === 'ECONNRESET' || /ECONNRESET|socket hang up/.test(err.message), `${err.name}: ${err.code} ${err.message}`);
  assert.equal(err.$metadata?.httpStatusCode, undefined, 'no HTTP answer');
  // The rule is spent: the same PUT now works, on a new connection.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'reset-me', Body: 'x' }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'reset-me' }));
});

test('latency delays forwarded requests; a rule can delay its fault', async (t) => {
  const { proxy, s3 } = await proxied(t);
  await getK(s3); // warm the connection
  const timed = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f().catch(() => undefined);
    return performance.now() - t0;
  };
  proxy.setLatency(250);
  const slow = await timed(() => getK(s3));
  assert.ok(slow >= 240, `delayed ${slow} ms`);
  proxy.setLatency(0);
  const fast = await timed(() => getK(s3));
  assert.ok(fast < 200, `not delayed: ${fast} ms`);

  proxy.addRule({ match: { method: 'GET' }, fault: 'internalError', times: 1, latencyMs: 200 });
  const delayedFault = await timed(() => getK(s3));
  assert.ok(delayedFault >= 190, `fault after ${delayedFault} ms`);
  // Without a fault, a rule only delays.
  proxy.addRule({ match: { method: 'GET' }, times: 1, latencyMs: 200 });
  const t0 = performance.now();
  assert.equal(await getK(s3), 'hello');
  assert.ok(performance.now() - t0 >= 190);
});

test('stop closes every socket, pending delays included', async (t) => {
  const { proxy, s3 } = await proxied(t);
  assert.equal(await getK(s3), 'hello'); // a kept-alive connection is open
  proxy.setLatency(60_000);
  const pending = failure(getK(s3));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await proxy.stop();
  assert.ok(performance.now() - t0 < 1000, 'stop does not wait for the delay');
  const err = await pending;
  assert.ok(err.code === 'ECONNRESET' || /ECONNRESET|socket hang up/.test(err.message), `${err.code} ${err.message}`);
  const refused = await failure(getK(s3));
  assert.match(`${refused.code} ${refused.message}`, /ECONNREFUSED/);
});
