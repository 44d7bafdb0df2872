// Benchmarks `s3mig reconcile` on two live buckets of the local S3 server (s3rver) against `rclone check`,
// and the speed-up of split listing under latency.
//
//   node --import tsx scripts/bench-live.ts                    10,000 objects in src
//   node --import tsx scripts/bench-live.ts --objects 100000   (also 1e5, 100k, 100_000)
//   node --import tsx scripts/bench-live.ts --seed-only        seed (or check the cache) and stop
//
// 1. Starts s3rver (src/testing/s3-server.ts) on buckets src, dst and empty, seeded with N objects in src
//    and a drifted copy in dst: ~95 % of src's keys, ~1 % of them with other content of the same size,
//    ~0.5 % with another size, plus ~1 % extras. The seeded server directory is cached in
//    .bench/live-N/ (git-ignored) with a marker file holding the expected counts, and reused when present.
//    Every bucket is then listed once (s3rver builds its key index on the first listing after a start, and
//    the page cache warms), so that neither tool pays for that inside its measurement.
// 2. Runs `s3mig reconcile a/src a/dst --json` and 3. `rclone check r:src r:dst --fast-list --combined F`
//    as child processes under /usr/bin/time (wall time from spawn to exit, peak RSS from %M), checks exit
//    codes and every count against the seeded drift. 4. Prints both and the ratios.
// 5. Lists src through the fault proxy (src/testing/fault-proxy.ts) with a fixed latency per request:
//    single stream vs planRanges() + a pool of listers (src/s3/list.ts), in-process; then the same through
//    the CLI (`reconcile a/src a/empty --list-concurrency 1` vs 8).
// 6. Stops servers, proxies and children at the end, on errors and on SIGINT/SIGTERM.
//
// Needs rclone (apt-get install -y rclone) and GNU time (apt-get install -y time); without /usr/bin/time
// the peak RSS of s3mig comes from its summary's peakRssBytes and rclone's is not measured.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { compareKeys } from '../src/core/key-order.ts';
import { startLocalS3, type LocalS3 } from '../src/testing/s3-server.ts';
import { KEY, REPO, UsageError, parseBenchArgs, cleanup, haveTime, int, measure, onCleanup, pad, parseCount, prng, s3conn, secs, stopOnSignals, throwIfStopping, measureS3mig, type S3migRun } from './bench-common.ts';

stopOnSignals();

const BUCKETS = ['src', 'dst', 'empty'];
const MARKER_VERSION = 1;

const USAGE = `usage: node --import tsx scripts/bench-live.ts [options]

  --objects N            objects in the src bucket (default 10000; accepts 1e5, 100k, 100_000)
  --latency MS           per-request latency of the fault proxy for the listing test (default 200)
  --list-concurrency N   listers for the split listing test (default 8)
  --put-concurrency N    PUTs in flight while seeding (default 48)
  --reseed               seed again even when .bench/live-N/ holds a complete seed
  --seed-only            seed (or reuse the cache) and stop
  --skip-cli-listing     skip the listing test through the CLI (step 5b)
  -h, --help             this text
`;

// ---------------------------------------------------------------------------------------------------
// Options

interface Options {
  objects: number;
  latency: number;
  listConcurrency: number;
  putConcurrency: number;
  reseed: boolean;
  seedOnly: boolean;
  skipCliListing: boolean;
}

function options(): Options {
  const values = parseBenchArgs(
    {
      objects: { type: 'string', default: '10000' },
      latency: { type: 'string', default: '200' },
      'list-concurrency': { type: 'string', default: '8' },
      'put-concurrency': { type: 'string', default: '48' },
      reseed: { type: 'boolean', default: false },
      'seed-only': { type: 'boolean', default: false },
      'skip-cli-listing': { type: 'boolean', default: false },
    },
    USAGE,
  );
  return {
    objects: parseCount(values.objects, '--objects', 100),
    latency: parseCount(values.latency, '--latency', 0),
    listConcurrency: parseCount(values['list-concurrency'], '--list-concurrency', 2),
    putConcurrency: parseCount(values['put-concurrency'], '--put-concurrency', 1),
    reseed: values.reseed,
    seedOnly: values['seed-only'],
    skipCliListing: values['skip-cli-listing'],
  };
}

// ---------------------------------------------------------------------------------------------------
// The seeded data: deterministic keys, bodies and drift.

const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0');

type Drift = 'same' | 'missing' | 'etag' | 'size';

interface Planned {
  key: string;
  size: number;
  drift: Drift;
  /** An extra key in dst made next to this one (a backup or a re-upload), if any. */
  extra?: { key: string; size: number };
}

/**
 * The N source keys, in folders as a real bucket has them: half logs by day and host, a third images
 * in hashed two-level folders, some documents (with spaces), a few files at the top level.
 */
function* plan(n: number): Generator<Planned> {
  const rnd = prng(0x5eed);
  const logs = Math.round(n * 0.5);
  const images = Math.round(n * 0.35);
  const docs = Math.round(n * 0.1);
  const perDay = Math.max(1, Math.ceil(logs / 180));
  const size = () => 3 + Math.floor(rnd() * 1022);
  const drift = (): Drift => {
    const r = rnd();
    return r < 0.05 ? 'missing' : r < 0.06 ? 'etag' : r < 0.065 ? 'size' : 'same';
  };
  for (let i = 0; i < n; i++) {
    let key: string;
    let extraKey: string;
    if (i < logs) {
      const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / perDay) * 86_400_000);
      key = `logs/${day.toISOString().slice(0, 10)}/host-${pad(i % 24, 2)}/part-${pad(i, 6)}.json`;
      extraKey = `${key}.tmp`;
    } else if (i < logs + images) {
      const j = i - logs;
      const h = Math.imul(j + 1, 0x9e3779b1) >>> 0;
      key = `images/${hex2(h >>> 24)}/${hex2(h >>> 16)}/IMG_${pad(j, 5)}.jpg`;
      extraKey = key.replace(/\.jpg$/, ' (1).jpg');
    } else if (i < logs + images + docs) {
      const j = i - logs - images;
      const team = ['finance', 'legal', 'ops', 'sales'][j % 4]!;
      key = `docs/${team}/${2020 + (j % 5)}/Meeting notes ${pad(j, 5)}.txt`;
      extraKey = key.replace(/\.txt$/, '.txt.bak');
    } else {
      const j = i - logs - images - docs;
      key = j % 2 === 0 ? `export-${pad(j, 5)}.csv` : `manifest-${pad(j, 5)}.json`;
      extraKey = `${key}.old`;
    }
    const p: Planned = { key, size: size(), drift: drift() };
    if (rnd() < 0.01) p.extra = { key: extraKey, size: size() };
    yield p;
  }
}

/** The body of a key: the key and a newline, repeated to `size` bytes (realistic, compressible, distinct per key). */
function body(key: string, size: number): Buffer {
  return Buffer.alloc(size, `${key}\n`);
}

interface Expected {
  src: number;
  dst: number;
  matched: number;
  missing: number;
  extra: number;
  sizeMismatch: number;
  etagMismatch: number;
}

interface Marker {
  version: number;
  objects: number;
  expected: Expected;
  seededAt: string;
  seedSeconds: number;
}

function expectedOf(n: number): Expected {
  const e: Expected = { src: 0, dst: 0, matched: 0, missing: 0, extra: 0, sizeMismatch: 0, etagMismatch: 0 };
  for (const p of plan(n)) {
    e.src++;
    if (p.drift === 'missing') e.missing++;
    else {
      e.dst++;
      if (p.drift === 'same') e.matched++;
      else if (p.drift === 'etag') e.etagMismatch++;
      else e.sizeMismatch++;
    }
    if (p.extra) {
      e.dst++;
      e.extra++;
    }
  }
  return e;
}

interface Put {
  bucket: string;
  key: string;
  body: Buffer;
}

function* puts(n: number): Generator<Put> {
  for (const p of plan(n)) {
    const b = body(p.key, p.size);
    yield { bucket: 'src', key: p.key, body: b };
    if (p.drift === 'same') yield { bucket: 'dst', key: p.key, body: b };
    else if (p.drift === 'etag') {
      const d = Buffer.from(b);
      d[d.length - 1]! ^= 0x20;
      yield { bucket: 'dst', key: p.key, body: d };
    } else if (p.drift === 'size') {
      const delta = 1 + (p.size % 40);
      yield { bucket: 'dst', key: p.key, body: p.size > 64 ? b.subarray(0, p.size - delta) : body(p.key, p.size + delta) };
    }
    if (p.extra) yield { bucket: 'dst', key: p.extra.key, body: body(p.extra.key, p.extra.size) };
  }
}

async function seed(server: LocalS3, n: number, expected: Expected, concurrency: number): Promise<number> {
  const conn = s3conn(server.endpoint);
  const total = expected.src + expected.dst;
  const it = puts(n);
  let done = 0;
  const t0 = performance.now();
  let lastPrint = t0;
  const progress = (final = false) => {
    const now = performance.now();
    if (!final && now - lastPrint < 5000) return;
    lastPrint = now;
    const s = (now - t0) / 1000;
    process.stdout.write(`  seeded ${done.toLocaleString('en')}/${total.toLocaleString('en')} puts in ${s.toFixed(1)} s (${Math.round(done / s)}/s)\n`);
  };
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (;;) {
          throwIfStopping();
          const next = it.next();
          if (next.done) return;
          const { bucket, key, body: b } = next.value;
          for (let attempt = 1; ; attempt++) {
            try {
              await conn.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: b, ContentLength: b.length }));
              break;
            } catch (err) {
              if (attempt >= 5) throw new Error(`PUT ${bucket}/${key} failed ${attempt} times: ${(err as Error).message}`);
              await new Promise((r) => setTimeout(r, 200 * attempt));
            }
          }
          done++;
          progress();
        }
      }),
    );
  } finally {
    conn.destroy();
  }
  progress(true);
  if (done !== total) throw new Error(`seeded ${done} objects, planned ${total}`);
  return (performance.now() - t0) / 1000;
}

/** Starts the server on the cached seed of N objects, seeding it first when there is none. */
async function seededServer(o: Options): Promise<{ server: LocalS3; marker: Marker }> {
  const dir = join(REPO, '.bench', `live-${o.objects}`);
  const data = join(dir, 's3rver');
  const markerFile = join(dir, 'seeded.json');
  let marker: Marker | undefined;
  if (!o.reseed && existsSync(markerFile)) {
    const m = JSON.parse(await readFile(markerFile, 'utf8')) as Marker;
    if (m.version === MARKER_VERSION && m.objects === o.objects) marker = m;
  }
  if (!marker) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(data, { recursive: true });
  }
  const server = await startLocalS3({ buckets: BUCKETS, directory: data });
  onCleanup('local S3 server', () => server.stop());
  process.stdout.write(`local S3 server ${server.endpoint} on ${data}\n`);
  if (marker) {
    process.stdout.write(`reusing the seed of ${marker.seededAt} (${marker.expected.src} src, ${marker.expected.dst} dst objects; delete ${dir} or pass --reseed to seed again)\n`);
    return { server, marker };
  }
  const expected = expectedOf(o.objects);
  process.stdout.write(`seeding ${expected.src} src + ${expected.dst} dst objects with ${o.putConcurrency} PUTs in flight\n`);
  const seedSeconds = await seed(server, o.objects, expected, o.putConcurrency);
  marker = { version: MARKER_VERSION, objects: o.objects, expected, seededAt: new Date().toISOString(), seedSeconds: Math.round(seedSeconds * 10) / 10 };
  await writeFile(markerFile, JSON.stringify(marker, null, 2) + '\n');
  return { server, marker };
}

// ---------------------------------------------------------------------------------------------------
// Children, measured alike: wall time from spawn to exit, peak RSS from GNU time's %M.

const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 1048576).toFixed(0)} MiB`);


// ---------------------------------------------------------------------------------------------------
// Checks

const problems: string[] = [];

function check(ok: boolean, what: string): void {
  if (!ok) {
    problems.push(what);
    process.stdout.write(`  CHECK FAILED: ${what}\n`);
  }
}

function printCounts(label: string, counts: Record<string, number>): void {
  process.stdout.write(`  ${label}: ${Object.entries(counts).map(([k, v]) => `${k} ${int(v)}`).join(', ')}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Step 5: listing through the fault proxy.

async function listingSpeedup(server: LocalS3, o: Options, expected: Expected, tmp: string): Promise<void> {
  const { startFaultProxy } = await import('../src/testing/fault-proxy.ts');
  const { listRange, planRanges } = await import('../src/s3/list.ts');
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  const stopProxy = onCleanup('fault proxy', () => proxy.stop());
  proxy.setLatency(o.latency);
  process.stdout.write(`\n== 5. Listing src through the fault proxy ${proxy.endpoint} with ${o.latency} ms latency per request\n`);
  const direct = s3conn(server.endpoint);
  const closeDirect = onCleanup('direct connection', async () => direct.destroy());
  const conn = s3conn(proxy.endpoint);
  const closeConn = onCleanup('proxy connection', async () => conn.destroy());
  const target = { conn, bucket: 'src', prefix: '' };
  try {
    // (0) one stream straight to the server (warm): what the server itself costs per page. s3rver answers
    // one listing at a time (it reads each listed key's metadata synchronously), so this is also the
    // floor that parallel listers share.
    let t0 = performance.now();
    let pages = 0;
    let keys = 0;
    for await (const page of listRange({ conn: direct, bucket: 'src', prefix: '' }, { lo: null, hi: null }, null)) {
      pages++;
      keys += page.entries.length;
    }
    const directMs = performance.now() - t0;
    process.stdout.write(`  (0) single stream, no proxy: ${int(keys)} keys in ${secs(directMs)} (${pages} pages, ${Math.round(directMs / pages)} ms/page of server time)\n`);

    // (a) one stream
    let r0 = proxy.requests;
    t0 = performance.now();
    const single: string[] = [];
    for await (const page of listRange(target, { lo: null, hi: null }, null)) for (const e of page.entries) single.push(e.key);
    const singleMs = performance.now() - t0;
    const singleReqs = proxy.requests - r0;

    // (b) planned ranges, a pool of listers; the planning is part of the time
    r0 = proxy.requests;
    t0 = performance.now();
    const planned = await planRanges(target, o.listConcurrency);
    const planMs = performance.now() - t0;
    const perRange: string[][] = planned.ranges.map(() => []);
    const rangeMs: number[] = planned.ranges.map(() => 0);
    let next = 0;
    await Promise.all(
      Array.from({ length: o.listConcurrency }, async () => {
        for (;;) {
          const i = next++;
          if (i >= planned.ranges.length) return;
          const rt = performance.now();
          for await (const page of listRange(target, planned.ranges[i]!, null)) for (const e of page.entries) perRange[i]!.push(e.key);
          rangeMs[i] = performance.now() - rt;
        }
      }),
    );
    const splitMs = performance.now() - t0;
    const splitReqs = proxy.requests - r0;
    const split = perRange.flat();

    process.stdout.write(`  (a) single stream:  ${int(single.length)} keys in ${secs(singleMs)} (${singleReqs} requests, ${int(Math.round(single.length / (singleMs / 1000)))} keys/s)\n`);
    process.stdout.write(
      `  (b) ${o.listConcurrency} listers:       ${int(split.length)} keys in ${secs(splitMs)} (plan ${secs(planMs)}; ${planned.ranges.length} range(s) split by ${planned.basis}; ${splitReqs} requests, ${int(Math.round(split.length / (splitMs / 1000)))} keys/s)\n`,
    );
    const sizes = perRange.map((r) => r.length);
    process.stdout.write(`      keys per range: ${sizes.join(' ')} (largest ${Math.max(...sizes)} = ${((100 * Math.max(...sizes)) / Math.max(1, split.length)).toFixed(0)} %)\n`);
    process.stdout.write(`      ms per range:   ${rangeMs.map((x) => Math.round(x)).join(' ')}\n`);
    process.stdout.write(`  speed-up (in-process listing): ${(singleMs / splitMs).toFixed(2)}x\n`);
    check(single.length === expected.src, `single-stream listing gave ${single.length} keys, seeded ${expected.src}`);
    check(split.length === single.length, `split listing gave ${split.length} keys, single stream ${single.length}`);
    const a = [...single].sort(compareKeys);
    const b = [...split].sort(compareKeys);
    let firstDiff = -1;
    for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) {
      firstDiff = i;
      break;
    }
    check(firstDiff === -1, `split and single-stream key sets differ (first at sorted index ${firstDiff}: ${JSON.stringify(a[firstDiff])} vs ${JSON.stringify(b[firstDiff])})`);
    check(new Set(split).size === split.length, `split listing returned ${split.length - new Set(split).size} duplicate key(s) across ranges`);
    let ordered = true;
    for (let i = 1; i < single.length; i++) if (compareKeys(single[i - 1]!, single[i]!) >= 0) ordered = false;
    check(ordered, 'single-stream listing is not in strictly increasing key order');
    if (firstDiff === -1) process.stdout.write(`  same ${int(single.length)} keys both ways\n`);

    // (c) through the CLI: reconcile src against an empty bucket, one lister vs N
    if (!o.skipCliListing) {
      const mcHost = `http://${KEY}:${KEY}@127.0.0.1:${proxy.port}`;
      const runs: { n: number; run: S3migRun }[] = [];
      for (const n of [1, o.listConcurrency]) {
        const dir = await mkdtemp(join(tmp, `cli-list-${n}-`));
        const run = await measureS3mig('reconcile', ['a/src', 'a/empty', '--list-concurrency', String(n)], mcHost, dir);
        runs.push({ n, run });
        const s = run.summary;
        process.stdout.write(
          `  (c) CLI --list-concurrency ${String(n).padEnd(2)}: wall ${secs(run.m.wallMs)}, ingest ${s ? secs(s.timings.ingestMs) : 'n/a'}, exit ${run.m.code}, peak RSS ${mib(run.m.peakRssBytes)}${s ? `, missing ${int(s.counts.missing)}` : ''}\n`,
        );
        for (const l of run.logs.filter((x) => /range|split|list/i.test(x) || !x.startsWith('[info'))) process.stdout.write(`      ${l}\n`);
        check(run.m.code === 1, `CLI listing run (--list-concurrency ${n}) exited ${run.m.code}${run.m.signal ? ` (${run.m.signal})` : ''}, expected 1; stderr: ${run.m.stderr.trim().slice(0, 500)}`);
        check(s?.counts?.missing === expected.src, `CLI listing run (--list-concurrency ${n}) counted ${s?.counts?.missing} missing, seeded ${expected.src}`);
        await rm(dir, { recursive: true, force: true });
      }
      const [one, many] = runs as [{ n: number; run: S3migRun }, { n: number; run: S3migRun }];
      process.stdout.write(`  speed-up (CLI wall): ${(one.run.m.wallMs / many.run.m.wallMs).toFixed(2)}x`);
      if (one.run.summary && many.run.summary) process.stdout.write(`, (CLI ingest): ${(one.run.summary.timings.ingestMs / many.run.summary.timings.ingestMs).toFixed(2)}x`);
      process.stdout.write('\n');
    }
  } finally {
    closeDirect();
    direct.destroy();
    closeConn();
    conn.destroy();
    stopProxy();
    await proxy.stop();
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = options();
  process.stdout.write(`bench-live: ${int(o.objects)} objects, node ${process.version}${haveTime ? '' : ', no /usr/bin/time (RSS from summaries only)'}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 's3mig-bench-live-'));
  onCleanup('temp dir', () => rm(tmp, { recursive: true, force: true }));

  const { server, marker } = await seededServer(o);
  const e = marker.expected;
  process.stdout.write(
    `expected: src ${int(e.src)}, dst ${int(e.dst)}; matched ${int(e.matched)}, missing ${int(e.missing)}, extra ${int(e.extra)}, sizeMismatch ${int(e.sizeMismatch)}, etagMismatch ${int(e.etagMismatch)}` +
      (marker.seedSeconds ? ` (seeded in ${marker.seedSeconds} s)` : '') +
      '\n',
  );
  if (o.seedOnly) return;

  // s3rver (patched) builds a bucket's sorted key index on its first listing after a start, by walking the
  // whole directory, and reads each listed key's metadata from disk: list every bucket once here, so that
  // neither tool pays for the index or a cold page cache inside its measurement. Also the server's own
  // cost per page, for reading the listing test below.
  const warm: Record<string, { keys: number; pages: number; ms: number }> = {};
  {
    const { listRange } = await import('../src/s3/list.ts');
    const conn = s3conn(server.endpoint);
    try {
      for (const bucket of BUCKETS) {
        const t0 = performance.now();
        let pages = 0;
        let keys = 0;
        for await (const page of listRange({ conn, bucket, prefix: '' }, { lo: null, hi: null }, null)) {
          pages++;
          keys += page.entries.length;
        }
        warm[bucket] = { keys, pages, ms: performance.now() - t0 };
        process.stdout.write(`warm-up listing of ${bucket}: ${int(keys)} keys, ${pages} page(s) in ${secs(warm[bucket]!.ms)} (${Math.round(warm[bucket]!.ms / pages)} ms/page, straight to the server, cold)\n`);
      }
    } finally {
      conn.destroy();
    }
  }
  check(warm.src!.keys === e.src && warm.dst!.keys === e.dst, `the server lists ${warm.src!.keys}/${warm.dst!.keys} keys in src/dst, seeded ${e.src}/${e.dst}`);

  // 2. s3mig
  process.stdout.write(`\n== 2. s3mig reconcile a/src a/dst (MC_HOST_a=http://${KEY}:***@127.0.0.1:${server.port})\n`);
  const runDir = await mkdtemp(join(tmp, 's3mig-'));
  const mig = await measureS3mig('reconcile', ['a/src', 'a/dst'], `http://${KEY}:${KEY}@127.0.0.1:${server.port}`, runDir);
  const s = mig.summary;
  process.stdout.write(`  exit ${mig.m.code}${mig.m.signal ? ` (${mig.m.signal})` : ''}, wall ${secs(mig.m.wallMs)}, peak RSS ${mib(mig.m.peakRssBytes)} (/usr/bin/time), ${s ? mib(s.peakRssBytes) : 'n/a'} (summary peakRssBytes)\n`);
  for (const l of mig.logs) process.stdout.write(`  ${l}\n`);
  if (s) {
    printCounts('counts', s.counts);
    process.stdout.write(`  timings: ingest ${secs(s.timings.ingestMs)}, compare ${secs(s.timings.compareMs)}, report ${secs(s.timings.reportMs)}, total ${secs(s.timings.totalMs)}; rates: ingest ${int(s.rates.ingestEntriesPerSec)} entries/s, compare ${int(s.rates.compareKeysPerSec)} keys/s\n`);
    if (s.strategy) process.stdout.write(`  strategy: ${s.strategy.name} (${s.strategy.reason}), list concurrency ${s.strategy.listConcurrency}, batch ${s.strategy.batchEntries}\n`);
    if (mig.states.length > 0) {
      const st = [...mig.states, { state: 'exit', atMs: mig.m.wallMs }];
      process.stdout.write(`  timeline (s since spawn): ${st.map((x) => `${x.state} ${(x.atMs / 1000).toFixed(2)}`).join(' → ')}\n`);
    }
    if (s.incomplete?.length) process.stdout.write(`  incomplete: ${JSON.stringify(s.incomplete)}\n`);
    if (s.duplicates && (s.duplicates.source || s.duplicates.dest)) process.stdout.write(`  duplicates: ${JSON.stringify(s.duplicates)}\n`);
    for (const k of ['matched', 'missing', 'extra', 'sizeMismatch', 'etagMismatch'] as const) check(s.counts[k] === e[k], `s3mig ${k} ${s.counts[k]}, seeded ${e[k]}`);
    check(s.counts.unverified === 0, `s3mig unverified ${s.counts.unverified}, expected 0`);
    check(s.counts.source === e.src && s.counts.dest === e.dst, `s3mig source/dest ${s.counts.source}/${s.counts.dest}, seeded ${e.src}/${e.dst}`);
  } else {
    check(false, `s3mig printed no summary line; stderr: ${mig.m.stderr.trim().slice(0, 2000)}`);
  }
  check(mig.m.code === 1, `s3mig exited ${mig.m.code}, expected 1`);
  if (mig.m.stderr.trim() !== '') process.stdout.write(`  stderr: ${mig.m.stderr.trim().slice(0, 2000)}\n`);

  // 3. rclone check
  process.stdout.write(`\n== 3. rclone check r:src r:dst --fast-list\n`);
  const conf = join(tmp, 'rclone.conf');
  await writeFile(
    conf,
    `[r]\ntype = s3\nprovider = Other\nendpoint = http://127.0.0.1:${server.port}\nforce_path_style = true\nregion = us-east-1\naccess_key_id = ${KEY}\nsecret_access_key = ${KEY}\n`,
  );
  const combined = join(tmp, 'rclone-combined.txt');
  const rc = await measure(['env', '-u', 'AWS_CA_BUNDLE', 'rclone', '--config', conf, 'check', 'r:src', 'r:dst', '--fast-list', '--combined', combined], { tmp, keepLines: true });
  const rcCounts: Record<string, number> = { '=': 0, '-': 0, '+': 0, '*': 0, '!': 0 };
  let rcOther = 0;
  for (const line of (await readFile(combined, 'utf8').catch(() => '')).split('\n')) {
    if (line === '') continue;
    const c = line[0]!;
    if (c in rcCounts && line[1] === ' ') rcCounts[c]!++;
    else rcOther++;
  }
  process.stdout.write(`  exit ${rc.code}${rc.signal ? ` (${rc.signal})` : ''}, wall ${secs(rc.wallMs)}, peak RSS ${mib(rc.peakRssBytes)} (/usr/bin/time)\n`);
  // rclone's --combined: '+' missing on the destination (only in src), '-' missing on the source (only in dst).
  process.stdout.write(`  counts: = ${int(rcCounts['=']!)} (identical), + ${int(rcCounts['+']!)} (only in src), - ${int(rcCounts['-']!)} (only in dst), * ${int(rcCounts['*']!)} (differ), ! ${int(rcCounts['!']!)} (errors)${rcOther ? `, ${rcOther} other lines` : ''}\n`);
  const rcSummary = rc.stderr.split('\n').filter((l) => /NOTICE|Failed|hashes could not be checked/i.test(l) && !/ERROR : /.test(l)).slice(0, 8);
  for (const l of rcSummary) process.stdout.write(`  rclone: ${l.trim()}\n`);
  check(rc.code === 1, `rclone exited ${rc.code}, expected 1`);
  check(rcCounts['=']! === e.matched, `rclone = ${rcCounts['=']}, seeded matched ${e.matched}`);
  check(rcCounts['+']! === e.missing, `rclone + ${rcCounts['+']}, seeded missing ${e.missing}`);
  check(rcCounts['-']! === e.extra, `rclone - ${rcCounts['-']}, seeded extra ${e.extra}`);
  check(rcCounts['*']! === e.sizeMismatch + e.etagMismatch, `rclone * ${rcCounts['*']}, seeded size+etag mismatches ${e.sizeMismatch + e.etagMismatch}`);
  check(rcCounts['!']! === 0, `rclone ! ${rcCounts['!']}, expected 0`);

  // 4. side by side
  process.stdout.write(`\n== 4. s3mig vs rclone check, ${int(e.src)} src / ${int(e.dst)} dst objects\n`);
  const migRss = mig.m.peakRssBytes ?? (s ? s.peakRssBytes : null);
  process.stdout.write(`  s3mig  wall ${secs(mig.m.wallMs).padStart(9)}  peak RSS ${mib(migRss).padStart(9)}  ${int(Math.round((e.src + e.dst) / (mig.m.wallMs / 1000)))} objects/s (src+dst listed per wall second)\n`);
  process.stdout.write(`  rclone wall ${secs(rc.wallMs).padStart(9)}  peak RSS ${mib(rc.peakRssBytes).padStart(9)}  ${int(Math.round((e.src + e.dst) / (rc.wallMs / 1000)))} objects/s\n`);
  process.stdout.write(`  ratio s3mig/rclone: time ${(mig.m.wallMs / rc.wallMs).toFixed(2)}x, RSS ${migRss !== null && rc.peakRssBytes !== null ? `${(migRss / rc.peakRssBytes).toFixed(2)}x` : 'n/a'}\n`);

  // 5. listing under latency
  await listingSpeedup(server, o, e, tmp);

  process.stdout.write(problems.length === 0 ? '\nall checks passed\n' : `\n${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  process.exitCode = err instanceof UsageError ? 2 : 1;
  process.stderr.write(err instanceof UsageError ? `${err.message}\n\n${USAGE}` : `bench-live failed: ${(err as Error).stack ?? err}\n`);
} finally {
  await cleanup();
}
