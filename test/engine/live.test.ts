// Live reconciliation against a real local S3 server (s3rver in a child process) and the fault proxy in
// front of it: every verdict S3 can produce, prefix targets, live against a saved inventory, parallel
// listing equal to a single stream, resume after a kill mid-listing, retried throttling and resets, a
// range that keeps failing (incomplete, nothing deleted), validation errors as one line, secrets never
// written, a resume refused when its alias moved, and range planning at unit level.
//
// One s3rver serves the whole file (buckets seeded once in `before`); every proxy, stub server and child
// process is stopped in t.after or after().
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalS3, type LocalS3 } from '../../src/testing/s3-server.ts';
import { startFaultProxy, type FaultProxy } from '../../src/testing/fault-proxy.ts';
import { connect, type S3Connection } from '../../src/s3/client.ts';
import { listRange, planRanges, type KeyRange, type ListTarget } from '../../src/s3/list.ts';
import { Secret } from '../../src/core/secret.ts';
import { runReconcile } from '../../src/engine/reconcile-job.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { allFiles, tempDir, writeInventory } from '../helpers.ts';
import {
  eventsOf,
  jobIdOf,
  mcHost,
  once,
  putObjects,
  readNdjson,
  readSummary,
  runS3mig,
  type Event,
  type S3migRun,
  type SharedChildren,
} from '../live-harness.ts';

// In-process runs read the retry policy from this process's environment when they connect.
process.env.S3MIG_RETRY_BASE_MS = '1';

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const sortBytes = (keys: Iterable<string>) => [...keys].sort(byteOrder);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

// ---------------------------------------------------------------------------------------------
// The buckets
// ---------------------------------------------------------------------------------------------

/** `src` and `dst`: every verdict S3 can produce between two live buckets. */
const SRC: Record<string, string> = {
  'same.txt': 'same content',
  'missing.txt': 'only in the source',
  'size.txt': 'abc',
  'etag.txt': 'aaaa',
  'folder/': '',
  'empty-dir/': '',
  'docs/readme.md': 'readme',
  'docs/sub/deep/x.md': 'deep',
  'photos/2024/jan/a.jpg': 'jpeg-a',
  'photos/2024/feb/b.jpg': 'jpeg-b',
  'photos/2024/mar/c.jpg': 'jpeg-c',
  'photos/2024/apr/d.jpg': 'jpeg-d',
  'photos/é/ü.png': 'png',
  'photos-old/x.jpg': 'old',
  'é.txt': 'accent',
  'x/\uFF5E': 'wave',
  'x/\u{1F600}': 'smile',
  'x/emoji \u{1F600} + \uFF5E.txt': 'v1',
  'a b+c.txt': 'plus',
  'my file + more.txt': 'spaces',
  '%41.txt': 'percent, not A',
  '100% off.txt': 'percent',
};
const DST: Record<string, string> = {
  'same.txt': 'same content',
  'size.txt': 'abcdef',
  'etag.txt': 'bbbb',
  'folder/': '',
  'docs/readme.md': 'readme',
  'photos/2024/jan/a.jpg': 'jpeg-a',
  'photos/2024/mar/c.jpg': 'jpeg-C',
  'photos/2024/apr/d.jpg': 'jpeg-dd',
  'photos/2023/c.jpg': 'jpeg-c',
  photosx: 'not a folder',
  'x/\uFF5E': 'wave',
  'x/\u{1F600}': 'smile',
  'x/emoji \u{1F600} + \uFF5E.txt': 'v2',
  'my file + more.txt': 'spaces',
  '%41.txt': 'percent, not A',
  'only-dst.txt': 'extra',
  '\u{1F600}/smile.txt': 'smile',
};
/** What `s/src` against `s/dst` must find for each key that is not matched. */
const SRC_VS_DST: Record<string, string> = {
  'missing.txt': 'missing',
  'empty-dir/': 'missing',
  'docs/sub/deep/x.md': 'missing',
  'photos/2024/feb/b.jpg': 'missing',
  'photos/é/ü.png': 'missing',
  'photos-old/x.jpg': 'missing',
  'é.txt': 'missing',
  'a b+c.txt': 'missing',
  '100% off.txt': 'missing',
  'photos/2023/c.jpg': 'extra',
  photosx: 'extra',
  'only-dst.txt': 'extra',
  '\u{1F600}/smile.txt': 'extra',
  'size.txt': 'sizeMismatch',
  'photos/2024/apr/d.jpg': 'sizeMismatch',
  'etag.txt': 'etagMismatch',
  'photos/2024/mar/c.jpg': 'etagMismatch',
  'x/emoji \u{1F600} + \uFF5E.txt': 'etagMismatch',
};
const SRC_VS_DST_COUNTS = { matched: 8, missing: 9, extra: 4, sizeMismatch: 2, etagMismatch: 3, unverified: 0, source: 22, dest: 17 };

/**
 * `big`: ~2,000 keys over 20 folders of 40, one folder (deep/) of 1,050 (more than one 1,000-entry batch in
 * its range), top-level files (some named like a folder without its slash, so they sit right below a
 * range bound), and a flat folder whose keys have no sub-folders (character split points).
 */
function bigKeys(): string[] {
  const keys: string[] = [];
  for (let d = 0; d < 20; d++) {
    const dir = `d${String(d).padStart(2, '0')}/`;
    for (let i = 0; i < 40; i++) keys.push(`${dir}${i % 3 === 0 ? `sub${i % 4}/` : ''}obj-${String(i).padStart(3, '0')}${i % 10 === 0 ? ' é+x' : ''}`);
  }
  keys.push('d03/\u{1F600}', 'd03/\uFF5E', 'd03/\uFFFD');
  for (let i = 0; i < 1050; i++) keys.push(`deep/k${String(i).padStart(5, '0')}`);
  for (let i = 0; i < 30; i++) keys.push(`top-${String(i).padStart(3, '0')}.txt`);
  keys.push('d03', 'd03-x', 'd03.txt', 'deep', '\u{1F600}.txt');
  keys.push('d05/'); // a folder marker exactly at a range bound
  for (let i = 0; i < 100; i++) keys.push(`flat/${String(i).padStart(3, '0')}`);
  keys.push('flat/!bang', 'flat/-dash', 'flat/Zed', 'flat/_under', 'flat/~tilde', 'flat/é', 'flat/\u{1F600}');
  return keys;
}
const BIG = bigKeys();

let server: LocalS3;
let seeder: S3Connection;
const runsDir = mkdtemp(join(tmpdir(), 's3mig-live-runs-'));

const seed = (bucket: string, objects: Record<string, string>) => putObjects(seeder, bucket, objects, 32);

before(async () => {
  server = await startLocalS3({ buckets: ['src', 'dst', 'big', 'empty'] });
  seeder = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) });
  await seed('src', SRC);
  await seed('dst', DST);
  await seed('big', Object.fromEntries(BIG.map((k, i) => [k, k.endsWith('/') ? '' : `body ${i}`])));
});

/** Proxies and child processes of runs shared by several tests. */
const sharedProxies: FaultProxy[] = [];
const sharedChildren: SharedChildren = [];

after(async () => {
  for (const c of sharedChildren) c.kill('SIGKILL');
  seeder?.destroy();
  await Promise.all(sharedProxies.map((p) => p.stop()));
  await server?.stop();
  await rm(await runsDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Running s3mig
// ---------------------------------------------------------------------------------------------

/** `node bin/s3mig.js ARGS` in `cwd`, alias `s` on the local server, this process's environment inherited; killed when the test ends. */
const s3mig = (t: TestContext, cwd: string, args: string[], env: Record<string, string> = {}) =>
  runS3mig(t, cwd, args, { MC_HOST_s: mcHost(server.endpoint), ...env });

const logs = (events: Event[]) => events.filter((e): e is Event & { type: 'log'; message: string } => e.type === 'log');

interface Row {
  key: string;
  category: string;
  source: { size: number; etag: string; lastModified: string } | null;
  dest: { size: number; etag: string; lastModified: string } | null;
}

/** The categories of differences.ndjson as [key, category] in file order. */
const verdicts = (rows: Row[]) => rows.map((r) => [r.key, r.category]);
const expectedVerdicts = (byKey: Record<string, string>) => sortBytes(Object.keys(byKey)).map((k) => [k, byKey[k]!]);

/** `s/src s/dst`, straight to the server, --json: the run every other src/dst run is compared with. */
const directRun = once(async () => {
  const dir = join(await runsDir, 'direct');
  await mkdir(dir, { recursive: true });
  const run = await s3migShared(dir, ['reconcile', 's/src', 's/dst', '--json', '--report-dir', 'rep']);
  return { dir, run, rep: join(dir, 'rep') };
});

/** `s/big s/empty` with 1 and with 8 listers: every key `missing`, in order. */
const bigRun = (listers: number) => bigRuns[listers]!();
const bigRuns: Record<number, () => Promise<{ dir: string; run: S3migRun; rep: string }>> = Object.fromEntries(
  [1, 8].map((n) => [
    n,
    once(async () => {
      const dir = join(await runsDir, `big-${n}`);
      await mkdir(dir, { recursive: true });
      const run = await s3migShared(dir, ['reconcile', 's/big', 's/empty', '--json', '--report-dir', 'rep', '--list-concurrency', String(n)]);
      return { dir, run, rep: join(dir, 'rep') };
    }),
  ]),
);

/** Like s3mig() for runs shared by several tests: killed when the file is done, not when one test is. */
const s3migShared = (cwd: string, args: string[], env: Record<string, string> = {}) =>
  runS3mig(sharedChildren, cwd, args, { MC_HOST_s: mcHost(server.endpoint), ...env }, { timeout: 60_000 });

async function startProxy(t: TestContext): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  t.after(() => proxy.stop());
  return proxy;
}

/** A server that answers every request with one S3 error (what s3rver cannot: it never checks SigV4 signatures). */
async function startErrorServer(t: TestContext, code: string, status: number): Promise<string> {
  const srv: Server = createServer((req, res) => {
    req.resume();
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>stub</Message><RequestId>STUB</RequestId></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'STUB' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

function listTarget(conn: S3Connection, bucket: string, prefix = ''): ListTarget {
  return { conn, bucket, prefix };
}

function localConn(t: TestContext): S3Connection {
  const c = connect(
    { url: server.endpoint, region: 'us-east-1', pathStyle: true },
    { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) },
    { retry: { attempts: 3, baseMs: 1, maxMs: 5 } },
  );
  t.after(() => c.destroy());
  return c;
}

async function listAll(t: ListTarget, range: KeyRange, pageSize?: number) {
  const out = [];
  for await (const page of listRange(t, range, null, pageSize ? { pageSize } : {})) out.push(...page.entries);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1-3: verdicts
// ---------------------------------------------------------------------------------------------

test('live s/src s/dst: every category S3 can produce, non-ASCII and spaced keys, exit 1, the strategy and why', async () => {
  const { run, rep } = await directRun();
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stderr, '');
  const events = eventsOf(run.stdout);
  const last = events.at(-1)!;
  assert.equal(last.type, 'summary');

  const summary = await readSummary(rep);
  const { type: _t, ...fromStream } = last;
  assert.deepEqual(fromStream, summary, 'the last --json line is summary.json');
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.complete, true);
  assert.deepEqual(summary.counts, SRC_VS_DST_COUNTS);
  assert.equal(summary.source.kind, 'live');
  assert.equal(summary.source.endpoint, server.endpoint);
  assert.equal(summary.source.bucket, 'src');
  assert.equal(summary.dest.bucket, 'dst');
  assert.equal(summary.source.entries, 22);
  assert.equal(summary.dest.entries, 17);

  const rows = await readNdjson<Row>(join(rep, 'differences.ndjson'));
  assert.deepEqual(verdicts(rows), expectedVerdicts(SRC_VS_DST), 'differences.ndjson: exactly these keys, in UTF-8 byte order');
  // Both sides' sizes and ETags as the server listed them (s3rver's ETag is the body's MD5).
  const etag = rows.find((r) => r.key === 'x/emoji \u{1F600} + \uFF5E.txt')!;
  assert.deepEqual([etag.source?.size, etag.source?.etag, etag.dest?.size, etag.dest?.etag], [2, md5('v1'), 2, md5('v2')]);
  assert.match(etag.source!.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const size = rows.find((r) => r.key === 'size.txt')!;
  assert.deepEqual([size.source?.size, size.dest?.size], [3, 6]);
  assert.equal(rows.find((r) => r.key === 'missing.txt')!.dest, null);
  assert.equal(rows.find((r) => r.key === 'only-dst.txt')!.source, null);
  const csv = (await readFile(join(rep, 'differences.csv'), 'utf8')).trimEnd().split('\n');
  assert.equal(csv.length, 1 + rows.length, 'a header and one CSV row per difference');

  assert.equal(summary.strategy?.name, 'standard');
  assert.match(summary.strategy!.reason, /^22 source objects .*at most 100,000/);
  const strategy = events.filter((e) => e.type === 'strategy');
  assert.equal(strategy.length, 1, 'one strategy event in the --json stream');
  assert.equal(strategy[0]!.name, 'standard');
  assert.equal(strategy[0]!.reason, summary.strategy!.reason);
});

test('a prefix target lists keys relative to it; a trailing slash is optional; siblings sharing the name are not in it', async (t) => {
  const dir = await tempDir(t);
  const bus = new EventBus();
  const seen: EngineEvent[] = [];
  bus.subscribe((e) => seen.push(e));
  const summary = await runReconcile({
    source: 's/src/photos',
    dest: 's/dst/photos/',
    stateDir: join(dir, 'state'),
    reportDir: join(dir, 'rep'),
    listConcurrency: 4,
    aliasEnv: { env: { MC_HOST_s: mcHost(server.endpoint) }, home: dir },
    bus,
  });
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.source.prefix, 'photos/');
  assert.equal(summary.dest.prefix, 'photos/');
  assert.deepEqual(summary.counts, { matched: 1, missing: 2, extra: 1, sizeMismatch: 1, etagMismatch: 1, unverified: 0, source: 5, dest: 4 });
  const rows = await readNdjson<Row>(join(dir, 'rep', 'differences.ndjson'));
  assert.deepEqual(
    verdicts(rows),
    expectedVerdicts({
      '2023/c.jpg': 'extra',
      '2024/apr/d.jpg': 'sizeMismatch',
      '2024/feb/b.jpg': 'missing',
      '2024/mar/c.jpg': 'etagMismatch',
      'é/ü.png': 'missing',
    }),
  );
  assert.ok(seen.some((e) => e.type === 'summary'));
});

test('live source against an inventory:FILE destination', async (t) => {
  const dir = await tempDir(t);
  const url = 'https://s3.example.net/copy/photos/';
  await writeInventory(dir, 'dst.ndjson', [
    { key: '2024/jan/a.jpg', size: 6, etag: md5('jpeg-a') },
    { key: '2024/mar/c.jpg', size: 6, etag: md5('jpeg-X') },
    { key: '2024/apr/d.jpg', size: 99, etag: md5('jpeg-d') },
    { key: 'é/ü.png', size: 3, etag: '0123456789abcdef0123456789abcdef-2' },
    { key: 'zz/only-in-inventory.bin', size: 7, etag: md5('7 bytes') },
  ].map((l) => JSON.stringify({ status: 'success', type: 'file', lastModified: '2025-03-04T10:15:30.512Z', size: l.size, key: l.key, etag: l.etag, url })));
  const summary = await runReconcile({
    source: 's/src/photos',
    dest: 'inventory:dst.ndjson',
    cwd: dir,
    stateDir: join(dir, 'state'),
    reportDir: join(dir, 'rep'),
    aliasEnv: { env: { MC_HOST_s: mcHost(server.endpoint) }, home: dir },
  });
  assert.equal(summary.exitCode, 1);
  assert.equal(summary.source.kind, 'live');
  assert.equal(summary.dest.kind, 'inventory');
  assert.deepEqual(summary.counts, { matched: 1, missing: 1, extra: 1, sizeMismatch: 1, etagMismatch: 1, unverified: 1, source: 5, dest: 5 });
  const rows = await readNdjson<Row>(join(dir, 'rep', 'differences.ndjson'));
  assert.deepEqual(
    verdicts(rows),
    expectedVerdicts({
      '2024/apr/d.jpg': 'sizeMismatch',
      '2024/feb/b.jpg': 'missing',
      '2024/mar/c.jpg': 'etagMismatch',
      'é/ü.png': 'unverified',
      'zz/only-in-inventory.bin': 'extra',
    }),
  );
  const d = rows.find((r) => r.key === '2024/apr/d.jpg')!;
  assert.deepEqual(d.source && { size: d.source.size, etag: d.source.etag }, { size: 6, etag: md5('jpeg-d') });
  assert.deepEqual(d.dest, { size: 99, etag: md5('jpeg-d'), lastModified: '2025-03-04T10:15:30.512Z' });
});

// ---------------------------------------------------------------------------------------------
// 4-5: parallel listing and resume
// ---------------------------------------------------------------------------------------------

test('parallel listing (8 listers, many ranges) equals single-stream listing key for key', async () => {
  const [one, eight] = await Promise.all([bigRun(1), bigRun(8)]);
  assert.equal(one.run.code, 1, one.run.stderr);
  assert.equal(eight.run.code, 1, eight.run.stderr);
  const rangeLogs = (r: S3migRun, side: string) => logs(eventsOf(r.stdout)).filter((e) => e.side === side && /key range\(s\)/.test(e.message));
  assert.match(rangeLogs(one.run, 'source')[0]!.message, /^source: listing 1 key range\(s\) with 1 lister\(s\)/);
  const multi = rangeLogs(eight.run, 'source');
  assert.equal(multi.length, 1);
  const ranges = Number(/listing (\d+) key range\(s\) with 8 lister\(s\), split by \d+ folder\(s\)/.exec(multi[0]!.message)?.[1]);
  assert.ok(ranges > 1, multi[0]!.message);

  const a = await readFile(join(one.rep, 'differences.ndjson'), 'utf8');
  const b = await readFile(join(eight.rep, 'differences.ndjson'), 'utf8');
  assert.equal(b, a, 'the two runs wrote the same differences');
  const rows = a.trimEnd().split('\n').map((l) => JSON.parse(l) as Row);
  assert.deepEqual(rows.map((r) => r.key), sortBytes(BIG), 'every key, once, in byte order');
  assert.ok(rows.every((r) => r.category === 'missing'));
  for (const r of [one, eight]) {
    const s = await readSummary(r.rep);
    assert.equal(s.source.entries, BIG.length);
    assert.equal(s.duplicates.source, 0);
    assert.equal(s.counts.missing, BIG.length);
  }
});

// A live job of the standard strategy does all its listing while `estimating`: resume must accept that state
// (it failed with "job ... is estimating; nothing to resume" while RESUMABLE in src/engine/reconcile-job.ts lacked it).
test('killed mid-listing (ingest:after-batch@3, 4 listers), resumed: the same differences, no key lost or doubled', async (t) => {
  const base = await bigRun(1);
  const dir = await tempDir(t);
  const killed = await s3mig(t, dir, ['reconcile', 's/big', 's/empty', '--json', '--report-dir', 'rep', '--list-concurrency', '4'], {
    S3MIG_FAILPOINT: 'ingest:after-batch@3=kill',
  });
  assert.equal(killed.signal, 'SIGKILL', `the failpoint killed the process (${killed.stderr})`);
  const killedEvents = eventsOf(killed.stdout);
  const planned = logs(killedEvents).filter((e) => /^(source|dest): listing \d+ key range\(s\) with 4 lister\(s\)/.test(e.message)).map((e) => e.side);
  assert.ok(planned.length > 0, 'the listing had started');
  assert.ok(!killedEvents.some((e) => e.type === 'strategy'), 'and had not finished');
  const id = jobIdOf(killed.stdout);
  assert.equal(JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8')).state, 'estimating');

  const resumed = await s3mig(t, dir, ['resume', id, '--json']);
  assert.equal(resumed.code, 1, resumed.stderr);
  const events = eventsOf(resumed.stdout);
  assert.equal(events.at(-1)!.type, 'summary');
  for (const side of planned) {
    assert.ok(!logs(events).some((e) => e.side === side && /key range\(s\) with/.test(e.message)), `${side}: the ranges planned before the kill were continued, not planned again`);
  }
  assert.equal(
    await readFile(join(dir, 'rep', 'differences.ndjson'), 'utf8'),
    await readFile(join(base.rep, 'differences.ndjson'), 'utf8'),
  );
  const s = await readSummary(join(dir, 'rep'));
  assert.equal(s.source.entries, BIG.length, 'no key listed twice');
  assert.equal(s.duplicates.source, 0);
  assert.equal(s.counts.missing, BIG.length);
});

// ---------------------------------------------------------------------------------------------
// 6-7: faults
// ---------------------------------------------------------------------------------------------

/** Listing pages (not the validation probe, not the delimiter listings that plan the ranges): `encoding-type=url&list-type=2` first. */
const LISTING_PAGE = /^encoding-type=url&list-type=2&/;

test('SlowDown and connection resets while listing are retried to the same result, with a warning', async (t) => {
  const direct = await directRun();
  const proxy = await startProxy(t);
  proxy.addRule({ match: { query: LISTING_PAGE }, fault: 'slowDown', times: 3 });
  proxy.addRule({ match: { query: LISTING_PAGE }, fault: 'reset', times: 2 });
  const dir = await tempDir(t);
  const r = await s3mig(t, dir, ['reconcile', 'p/src', 'p/dst', '--json', '--report-dir', 'rep'], { MC_HOST_p: mcHost(proxy.endpoint) });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    await readFile(join(dir, 'rep', 'differences.ndjson'), 'utf8'),
    await readFile(join(direct.rep, 'differences.ndjson'), 'utf8'),
  );
  const s = await readSummary(join(dir, 'rep'));
  assert.equal(s.complete, true);
  assert.deepEqual(s.counts, SRC_VS_DST_COUNTS);
  const warns = logs(eventsOf(r.stdout)).filter((e) => e.level === 'warn' && e.code === 'S3MIG_S3_RETRY');
  assert.equal(warns.filter((e) => /SlowDown .*retry \d/.test(e.message)).length, 3, JSON.stringify(warns));
  // Exactly two resets were injected; an idle keep-alive socket closing could add one more, never fewer.
  assert.ok(warns.filter((e) => /ECONNRESET .*retry \d/.test(e.message)).length >= 2, JSON.stringify(warns));
});

/** The dest bucket's range that starts at its photos/ folder: its first page asks for start-after=photos. */
const FAILING_RANGE = { path: /^\/dst\/?$/, query: /&start-after=photos(&|$)/ };

/** `s/src` against `p/dst` (8 listers, --delete-extras) with the dest range at photos/ failing every time; shared by two tests. */
const failingRangeRun = once(async () => {
  // The plan the run will make (8 listers) has a range starting at photos/.
  const conn = connect({ url: server.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: server.accessKey, secretKey: new Secret(server.secretKey) });
  const plan = await planRanges(listTarget(conn, 'dst'), 8).finally(() => conn.destroy());
  const photos = plan.ranges.find((r) => r.lo === 'photos/');
  assert.ok(photos, JSON.stringify(plan.ranges));
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  sharedProxies.push(proxy);
  proxy.addRule({ match: FAILING_RANGE, fault: 'slowDown' });
  const dir = join(await runsDir, 'failing-range');
  await mkdir(dir, { recursive: true });
  const r = await s3migShared(dir, ['reconcile', 's/src', 'p/dst', '--json', '--report-dir', 'rep', '--delete-extras'], { MC_HOST_p: mcHost(proxy.endpoint) });
  return { dir, r, range: photos };
});

test('a range that keeps failing: exit 2, incomplete naming the side, no deletions even with --delete-extras', async () => {
  const { dir, r } = await failingRangeRun();
  assert.equal(r.code, 2, r.stderr);
  const s = await readSummary(join(dir, 'rep'));
  assert.equal(s.complete, false);
  assert.equal(s.outcome, 'incomplete');
  assert.equal(s.exitCode, 2);
  assert.equal(s.source.complete, true);
  assert.equal(s.dest.complete, false);
  assert.equal(s.incomplete.length, 1);
  assert.equal(s.incomplete[0]!.side, 'dest');
  assert.match(s.incomplete[0]!.message, /"photos\/".*SlowDown/);
  assert.ok(
    logs(eventsOf(r.stdout)).some((e) => e.level === 'error' && e.side === 'dest' && e.code === 'S3MIG_LISTING_INCOMPLETE'),
    'an error event names the failed listing',
  );
  const extras = (await readNdjson<Row>(join(dir, 'rep', 'differences.ndjson'))).filter((row) => row.category === 'extra');
  assert.ok(extras.some((row) => row.key === 'only-dst.txt'), 'extras outside the failed range are still reported');
  const plan = await readNdjson<{ action: string; key: string }>(join(dir, 'rep', 'fix-plan.ndjson'));
  assert.deepEqual(plan.filter((p) => p.action === 'delete'), []);
  const script = await readFile(join(dir, 'rep', 'fix.sh'), 'utf8');
  assert.doesNotMatch(script, /^[ \t]*mc rm\b/m, 'no mc rm line that would run');
  const job = JSON.parse(await readFile(join(dir, 'state', 'jobs', jobIdOf(r.stdout), 'job.json'), 'utf8'));
  assert.equal(job.state, 'failed');
  assert.equal(job.error.code, 'S3MIG_LISTING_INCOMPLETE');
});

// FAILS at the time of writing: design §5 says `extra`/`missing` in the affected range are not acted on, but the
// fix plan copies every source key of the dest range that could not be listed (they all look `missing`), e.g.
// same.txt and photos/2024/jan/a.jpg, which are on the destination. See the report.
test('a range that keeps failing: keys in that range are not acted on (design §5)', async () => {
  const { dir, r, range } = await failingRangeRun();
  assert.equal(r.code, 2, r.stderr);
  const inRange = (key: string) => byteOrder(key, range.lo!) >= 0 && (range.hi === null || byteOrder(key, range.hi) < 0);
  const plan = await readNdjson<{ action: string; key: string }>(join(dir, 'rep', 'fix-plan.ndjson'));
  assert.deepEqual(plan.filter((p) => inRange(p.key)).map((p) => `${p.action} ${p.key}`), []);
  // Keys outside the failed range are still planned.
  assert.ok(plan.some((p) => p.action === 'copy' && p.key === 'missing.txt'));
});

// ---------------------------------------------------------------------------------------------
// 8-10: validation, secrets, resume against a moved alias
// ---------------------------------------------------------------------------------------------

const SECRET = 'sup3r-s3cret-VALUE';
const TOKEN = 't0ken-S3CRET-xyz';

function assertOneLineError(r: S3migRun, what: string, re: RegExp): void {
  assert.equal(r.code, 2, `${what}: exit 2 (${r.stderr})`);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
  assert.match(r.stderr.trimEnd(), re, what);
  assert.doesNotMatch(r.stderr, /\n\s+at |\.ts:\d+/, `${what}: no stack trace`);
  assert.ok(!r.stderr.includes(SECRET), `${what}: the secret is not shown`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

test('validation errors: one line on stderr naming the target, exit 2, no stack trace, no secret', async (t) => {
  const dir = await tempDir(t);
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const badSig = await startErrorServer(t, 'SignatureDoesNotMatch', 403);
  const denied = await startProxy(t);
  denied.addRule({ match: { path: /^\/dst\/?$/ }, fault: 'accessDenied' });
  const cases: { what: string; args: string[]; env: Record<string, string>; re: RegExp }[] = [
    {
      what: 'unreachable endpoint',
      args: ['dead/src', 's/dst'],
      env: { MC_HOST_dead: mcHost(dead, SECRET) },
      re: new RegExp(`^s3mig: source dead/src: cannot reach ${esc(dead)} \\(ECONNREFUSED\\)$`),
    },
    {
      // s3rver does not check SigV4 signatures, so a stub server answers as S3 does for a wrong secret.
      what: 'wrong secret key',
      args: ['s/src', 'bad/dst'],
      env: { MC_HOST_bad: mcHost(badSig, SECRET) },
      re: new RegExp(`^s3mig: dest bad/dst: ${esc(badSig)} rejected the credentials of alias "bad" \\(SignatureDoesNotMatch\\)$`),
    },
    {
      what: 'wrong access key',
      args: ['wk/src', 's/dst'],
      env: { MC_HOST_wk: mcHost(server.endpoint, SECRET, 'NOT-A-KEY') },
      re: new RegExp(`^s3mig: source wk/src: ${esc(server.endpoint)} rejected the credentials of alias "wk" \\(InvalidAccessKeyId\\)$`),
    },
    {
      what: 'missing bucket',
      args: ['s/src', 's2/no-such-bucket/some/prefix'],
      env: { MC_HOST_s2: mcHost(server.endpoint, SECRET) },
      re: new RegExp(`^s3mig: dest s2/no-such-bucket/some/prefix: bucket "no-such-bucket" does not exist on ${esc(server.endpoint)}$`),
    },
    {
      what: 'access denied',
      args: ['s/src', 'den/dst'],
      env: { MC_HOST_den: mcHost(denied.endpoint, SECRET) },
      re: new RegExp(`^s3mig: dest den/dst: access denied to bucket "dst" on ${esc(denied.endpoint)} for alias "den" \\(AccessDenied\\)$`),
    },
    {
      what: 'unknown alias',
      args: ['nosuch/src', 's/dst'],
      env: {},
      re: new RegExp(`^s3mig: source nosuch/src: unknown alias "nosuch": set MC_HOST_nosuch=.* or add it to ${esc(join(dir, 'no-mc-config', 'config.json'))}`),
    },
  ];
  const runs = await Promise.all(cases.map((c) => s3mig(t, dir, ['reconcile', ...c.args, '--report-dir', 'rep'], c.env)));
  cases.forEach((c, i) => assertOneLineError(runs[i]!, c.what, c.re));
});

test('an alias from mc config.json ($MC_CONFIG_DIR) works', async (t) => {
  const dir = await tempDir(t);
  const mcDir = join(dir, 'mc');
  await mkdir(mcDir);
  await writeFile(
    join(mcDir, 'config.json'),
    JSON.stringify({ version: '10', aliases: { cfg: { url: server.endpoint, accessKey: 'S3RVER', secretKey: 'S3RVER', api: 's3v4', path: 'auto' } } }),
  );
  const r = await s3mig(t, dir, ['reconcile', 'cfg/src', 'cfg/dst', '--json', '--report-dir', 'rep'], { MC_CONFIG_DIR: mcDir });
  assert.equal(r.code, 1, r.stderr);
  const s = await readSummary(join(dir, 'rep'));
  assert.deepEqual(s.counts, SRC_VS_DST_COUNTS);
  assert.equal(s.source.endpoint, server.endpoint);
  assert.ok(
    logs(eventsOf(r.stdout)).some((e) => e.message.includes(`cfg/src is bucket "src" on ${server.endpoint} (${join(mcDir, 'config.json')}`)),
    'the log says where the alias came from',
  );
});

test('secrets are never written: not in the state directory (LevelDB included), reports, events, stdout or stderr', async (t) => {
  const dir = await tempDir(t);
  const badSig = await startErrorServer(t, 'SignatureDoesNotMatch', 403);
  // s3rver ignores SigV4 signatures and session tokens, so a distinctive secret and token still list.
  const ok = await s3mig(t, dir, ['reconcile', 'sec/src', 'sec/dst', '--json', '--report-dir', 'rep-ok'], {
    MC_HOST_sec: mcHost(server.endpoint, `${SECRET}:${TOKEN}`),
  });
  const failed = await Promise.all([
    s3mig(t, dir, ['reconcile', 'sec/src', 'sec/dst', '--json', '--report-dir', 'rep-sig'], { MC_HOST_sec: mcHost(badSig, `${SECRET}:${TOKEN}`) }),
    s3mig(t, dir, ['reconcile', 'sec/src', 'sec/dst', '--report-dir', 'rep-key'], { MC_HOST_sec: mcHost(server.endpoint, SECRET, 'NOT-A-KEY') }),
  ]);
  assert.equal(ok.code, 1, ok.stderr);
  assert.deepEqual(failed.map((r) => r.code), [2, 2]);
  assert.match(failed[0]!.stderr, /rejected the credentials of alias "sec" \(SignatureDoesNotMatch\)/);
  assert.match(failed[1]!.stderr, /rejected the credentials of alias "sec" \(InvalidAccessKeyId\)/);

  const files = await allFiles(dir);
  assert.ok(files.some((f) => f.path.endsWith('job.json')) && files.some((f) => /[/\\]db[/\\]/.test(f.path)), 'the state directory was written');
  assert.ok(files.some((f) => f.path.endsWith('summary.json')), 'reports were written');
  const outputs = [ok, ...failed].flatMap((r, i) => [
    { path: `stdout of run ${i}`, bytes: Buffer.from(r.stdout) },
    { path: `stderr of run ${i}`, bytes: Buffer.from(r.stderr) },
  ]);
  for (const f of [...files, ...outputs]) {
    for (const s of [SECRET, TOKEN]) {
      assert.equal(f.bytes.includes(s), false, `${f.path} holds a secret`);
      assert.equal(f.bytes.includes(Buffer.from(s, 'utf16le')), false, `${f.path} holds a secret (UTF-16)`);
    }
  }
  const okJob = JSON.parse(await readFile(join(dir, 'state', 'jobs', jobIdOf(ok.stdout), 'job.json'), 'utf8'));
  assert.equal(okJob.source.endpoint, server.endpoint, 'job.json records the endpoint');
  const text = JSON.stringify(okJob);
  assert.doesNotMatch(text, /S3RVER:|secretKey|sessionToken|@127\.0\.0\.1/);
});

test('resume refuses when the alias now points at another endpoint: one line naming the alias and both endpoints', async (t) => {
  const dir = await tempDir(t);
  const killed = await s3mig(t, dir, ['reconcile', 's/src', 's/dst', '--json', '--report-dir', 'rep'], { S3MIG_FAILPOINT: 'compare:before-checkpoint@1=kill' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const id = jobIdOf(killed.stdout);
  // The same data through the proxy: a different endpoint, which a resumed job must not silently mix in.
  const proxy = await startProxy(t);
  const r = await s3mig(t, dir, ['resume', id], { MC_HOST_s: mcHost(proxy.endpoint) });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /alias "s"/);
  assert.ok(r.stderr.includes(proxy.endpoint), r.stderr);
  assert.ok(r.stderr.includes(server.endpoint), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(proxy.requests, 0, 'nothing was asked of the other endpoint');
  const job = JSON.parse(await readFile(join(dir, 'state', 'jobs', id, 'job.json'), 'utf8'));
  assert.equal(job.source.endpoint, server.endpoint, 'the job still records the endpoint it listed');
});

// ---------------------------------------------------------------------------------------------
// 11: range planning at unit level
// ---------------------------------------------------------------------------------------------

function assertContiguous(ranges: KeyRange[]): void {
  assert.ok(ranges.length > 1, `more than one range: ${JSON.stringify(ranges)}`);
  assert.equal(ranges[0]!.lo, null);
  assert.equal(ranges.at(-1)!.hi, null);
  for (let i = 0; i + 1 < ranges.length; i++) {
    assert.equal(ranges[i]!.hi, ranges[i + 1]!.lo, `range ${i} ends where range ${i + 1} starts`);
    const { lo, hi } = ranges[i]!;
    assert.ok(hi !== null && (lo === null || byteOrder(lo, hi) < 0), `range ${i} has lo < hi`);
  }
}

test('planRanges splits a bucket by its folders into contiguous ranges; listing them all equals the single listing', async (t) => {
  const conn = localConn(t);
  const target = listTarget(conn, 'big');
  const single = await listAll(target, { lo: null, hi: null });
  assert.deepEqual(single.map((e) => e.key), sortBytes(BIG));

  const plan = await planRanges(target, 4);
  assert.match(plan.basis, /^22 folder\(s\) over 1 level\(s\)/);
  assertContiguous(plan.ranges);
  assert.ok(plan.ranges.length <= 16);
  const pieces = [];
  for (const r of plan.ranges) pieces.push(...(await listAll(target, r, 100)));
  assert.deepEqual(pieces, single, 'the ranges concatenated, paged by 100, give the same entries');

  // A folder without sub-folders splits at character points; the keys before '0' and after 'z' are covered too.
  const flat = listTarget(conn, 'big', 'flat/');
  assert.deepEqual((await planRanges(flat, 2)).ranges, [{ lo: null, hi: null }], 'a level that fits in one page is one range');
  // Seen through pages of 10, the level goes on past its first page: split points beyond it.
  const flatPlan = await planRanges(flat, 2, { pageSize: 10 });
  assert.match(flatPlan.basis, /^0 folder\(s\) over 1 level\(s\) and \d+ split point\(s\)$/);
  assert.ok(flatPlan.ranges.length > 1);
  assertContiguous(flatPlan.ranges);
  const flatSingle = await listAll(flat, { lo: null, hi: null });
  assert.equal(flatSingle.length, 107);
  const flatPieces = [];
  for (const r of flatPlan.ranges) flatPieces.push(...(await listAll(flat, r, 10)));
  assert.deepEqual(flatPieces.map((e) => e.key), flatSingle.map((e) => e.key));
  assert.deepEqual(flatPieces, flatSingle);

  // Folders are looked into, level by level: photos/ holds only folders at its first level in src.
  const photos = await planRanges(listTarget(conn, 'src', 'photos/'), 2);
  assertContiguous(photos.ranges);
  assert.match(photos.basis, /^\d+ folder\(s\) over [23] level\(s\)/);
  assert.ok(photos.ranges.every((r) => (r.lo === null || r.lo.startsWith('photos/')) && (r.hi === null || r.hi.startsWith('photos/'))));
});
