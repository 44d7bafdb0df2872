// Benchmarks `s3mig migrate --engine native` between two buckets of the local S3 server (s3rver) against
// `rclone sync --checksum --fast-list` (and `rclone check`) on the same data.
//
//   node --import tsx scripts/bench-migrate.ts                    10,000 small objects
//   node --import tsx scripts/bench-migrate.ts --objects 2000     (also 2e3, 2k, 2_000)
//   node --import tsx scripts/bench-migrate.ts --concurrency 32   s3mig's --concurrency (default: s3mig's own)
//
// 1. Seeds a server directory with bucket src holding N small objects (200-800 bytes, keys spread over
//    folders, e.g. d0042/obj-000123.txt, every 25th with a non-ASCII name) and two empty buckets dst-s3mig
//    and dst-rclone. The seeded directory is cached in .bench/migrate-N/ (git-ignored) with a marker file,
//    and reused when present (--reseed seeds again).
// 2. For each tool, copies the cached directory to a temp directory and starts s3rver on the copy, so each
//    tool starts from the same state on a fresh server (empty destinations; nothing left from the other
//    tool) and the cache is never written to. Every bucket is listed once first (s3rver builds its key
//    index on the first listing after a start, and the page cache warms).
// 3. s3mig: `node bin/s3mig.js migrate a/src a/dst-s3mig --engine native --json` under /usr/bin/time
//    (wall time, peak RSS); checks exit 0, transfer.copied = N, failed 0, outcome clean.
// 4. rclone: `rclone sync r:src r:dst-rclone --checksum --fast-list --transfers 16 --checkers 16
//    --s3-no-check-bucket` under /usr/bin/time, then `rclone check r:src r:dst-rclone --fast-list
//    --checkers 16` (timed too: "sync + check" is what compares with s3mig's "copy and prove").
// 5. Lists both destinations through the SDK and checks each against src (keys, sizes, ETags).
// 6. Prints a table: wall time, objects/s, peak RSS; s3mig's phase timings; the ratios s3mig/rclone.
// Servers, temp directories and children are stopped at the end, on errors and on SIGINT/SIGTERM.
//
// Needs rclone (apt-get install -y rclone) and GNU time (apt-get install -y time); without /usr/bin/time
// the wall time is measured from spawn to exit and rclone's peak RSS is not measured.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Connection } from '../src/s3/client.ts';
import { startLocalS3, type LocalS3 } from '../src/testing/s3-server.ts';
import { KEY, REPO, UsageError, parseBenchArgs, cleanup, haveTime, isStopping, int, measure, onCleanup, pad, parseCount, prng, s3conn, secs, stopOnSignals, throwIfStopping, measureS3mig, type Measured } from './bench-common.ts';

stopOnSignals();

const SRC = 'src';
const DST_S3MIG = 'dst-s3mig';
const DST_RCLONE = 'dst-rclone';
const BUCKETS = [SRC, DST_S3MIG, DST_RCLONE];
const MARKER_VERSION = 1;
const PUT_CONCURRENCY = 48;
/** rclone's parallelism, comparable to s3mig's default --concurrency 16. */
const RCLONE_PARALLEL = ['--transfers', '16', '--checkers', '16'];

const USAGE = `usage: node --import tsx scripts/bench-migrate.ts [options]

  --objects N        objects in the src bucket (default 10000; accepts 1e4, 10k, 10_000)
  --concurrency N    passed to s3mig migrate --concurrency (default: s3mig's own)
  --reseed           seed again even when .bench/migrate-N/ holds a complete seed
  -h, --help         this text
`;

// ---------------------------------------------------------------------------------------------------
// Options

interface Options {
  objects: number;
  concurrency: number | undefined;
  reseed: boolean;
}

function options(): Options {
  const values = parseBenchArgs(
    {
      objects: { type: 'string', default: '10000' },
      concurrency: { type: 'string' },
      reseed: { type: 'boolean', default: false },
    },
    USAGE,
  );
  return {
    objects: parseCount(values.objects, '--objects', 1),
    concurrency: values.concurrency === undefined ? undefined : parseCount(values.concurrency, '--concurrency', 1),
    reseed: values.reseed,
  };
}

// ---------------------------------------------------------------------------------------------------
// The seeded data: deterministic keys and bodies.

const NON_ASCII = ['café', 'über', 'niño', 'smørbrød', '日本語', 'Ωμέγα', 'prix-€', 'naïve'];

interface Planned {
  key: string;
  size: number;
}

/** The N source keys: about 100 per folder, consecutive numbers spread over the folders; every 25th non-ASCII. */
function* plan(n: number): Generator<Planned> {
  const rnd = prng(0x316);
  const folders = Math.max(1, Math.ceil(n / 100));
  for (let i = 0; i < n; i++) {
    const name = i % 25 === 7 ? `obj-${pad(i, 6)}-${NON_ASCII[Math.floor(i / 25) % NON_ASCII.length]}.txt` : `obj-${pad(i, 6)}.txt`;
    yield { key: `d${pad(i % folders, 4)}/${name}`, size: 200 + Math.floor(rnd() * 601) };
  }
}

/** The body of a key: the key and a newline, repeated to `size` bytes (distinct per key). */
function body(key: string, size: number): Buffer {
  return Buffer.alloc(size, `${key}\n`);
}

interface Marker {
  version: number;
  objects: number;
  bytes: number;
  seededAt: string;
  seedSeconds: number;
}

async function seed(server: LocalS3, n: number): Promise<{ seconds: number; bytes: number }> {
  const conn = s3conn(server.endpoint);
  const it = plan(n);
  let done = 0;
  let bytes = 0;
  const t0 = performance.now();
  let lastPrint = t0;
  const progress = (final = false) => {
    const now = performance.now();
    if (!final && now - lastPrint < 5000) return;
    lastPrint = now;
    const s = (now - t0) / 1000;
    process.stdout.write(`  seeded ${int(done)}/${int(n)} puts in ${s.toFixed(1)} s (${Math.round(done / s)}/s)\n`);
  };
  try {
    await Promise.all(
      Array.from({ length: PUT_CONCURRENCY }, async () => {
        for (;;) {
          throwIfStopping();
          const next = it.next();
          if (next.done) return;
          const { key, size } = next.value;
          const b = body(key, size);
          for (let attempt = 1; ; attempt++) {
            try {
              await conn.client.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: b, ContentLength: b.length }));
              break;
            } catch (err) {
              if (attempt >= 5) throw new Error(`PUT ${SRC}/${key} failed ${attempt} times: ${(err as Error).message}`);
              await new Promise((r) => setTimeout(r, 200 * attempt));
            }
          }
          done++;
          bytes += size;
          progress();
        }
      }),
    );
  } finally {
    conn.destroy();
  }
  progress(true);
  if (done !== n) throw new Error(`seeded ${done} objects, planned ${n}`);
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

/** The cached seed of N objects (its s3rver directory and marker), seeding it first when there is none. */
async function cachedSeed(o: Options): Promise<{ data: string; marker: Marker }> {
  const dir = join(REPO, '.bench', `migrate-${o.objects}`);
  const data = join(dir, 's3rver');
  const markerFile = join(dir, 'seeded.json');
  if (!o.reseed && existsSync(markerFile)) {
    const m = JSON.parse(await readFile(markerFile, 'utf8')) as Marker;
    if (m.version === MARKER_VERSION && m.objects === o.objects && existsSync(data)) {
      process.stdout.write(`reusing the seed in ${dir} of ${m.seededAt} (${int(m.objects)} objects, ${int(m.bytes)} bytes; delete it or pass --reseed to seed again)\n`);
      return { data, marker: m };
    }
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(data, { recursive: true });
  const server = await startLocalS3({ buckets: BUCKETS, directory: data });
  const unregister = onCleanup('seeding server', () => server.stop());
  process.stdout.write(`seeding ${int(o.objects)} objects into ${SRC} on ${server.endpoint} (${data}) with ${PUT_CONCURRENCY} PUTs in flight\n`);
  let seeded: { seconds: number; bytes: number };
  try {
    seeded = await seed(server, o.objects);
  } finally {
    unregister();
    await server.stop();
  }
  // Written last, after the server stopped: a marker means a complete seed.
  const marker: Marker = { version: MARKER_VERSION, objects: o.objects, bytes: seeded.bytes, seededAt: new Date().toISOString(), seedSeconds: Math.round(seeded.seconds * 10) / 10 };
  await writeFile(markerFile, JSON.stringify(marker, null, 2) + '\n');
  return { data, marker };
}

/** cp -a (ten times faster than fs.cp on thousands of small files), or fs.cp where there is no cp. */
async function copyTree(from: string, to: string): Promise<void> {
  const code = await new Promise<number | null | 'missing'>((resolve) => {
    const c = spawn('cp', ['-a', from, to], { stdio: ['ignore', 'ignore', 'inherit'] });
    const unregister = onCleanup('cp', async () => void c.kill('SIGTERM'));
    c.once('error', () => (unregister(), resolve('missing')));
    c.once('close', (code) => (unregister(), resolve(code)));
  });
  throwIfStopping();
  if (code === 'missing') await cp(from, to, { recursive: true });
  else if (code !== 0) throw new Error(`cp -a ${from} ${to} exited ${code}`);
}

/** A fresh server on a copy of the seed, every bucket listed once (warm key index and page cache). */
async function freshServer(seedData: string, tmp: string, name: string, marker: Marker): Promise<LocalS3> {
  throwIfStopping();
  const dir = join(tmp, `s3rver-${name}`);
  const t0 = performance.now();
  await copyTree(seedData, dir);
  const copyMs = performance.now() - t0;
  const server = await startLocalS3({ buckets: BUCKETS, directory: dir });
  onCleanup(`local S3 server for ${name}`, () => server.stop());
  process.stdout.write(`  local S3 server ${server.endpoint} on a copy of the seed (${dir}, copied in ${secs(copyMs)})\n`);
  const conn = s3conn(server.endpoint);
  try {
    for (const bucket of BUCKETS) {
      const t1 = performance.now();
      const listed = await listAll(conn, bucket);
      process.stdout.write(`  warm-up listing of ${bucket}: ${int(listed.size)} keys in ${secs(performance.now() - t1)}\n`);
      const want = bucket === SRC ? marker.objects : 0;
      if (listed.size !== want) throw new Error(`the copied seed lists ${listed.size} keys in ${bucket}, expected ${want}`);
    }
  } finally {
    conn.destroy();
  }
  return server;
}

/** Every key of a bucket with its size and ETag (ListObjectsV2, 1000 a page). */
async function listAll(conn: S3Connection, bucket: string): Promise<Map<string, { size: number; etag: string }>> {
  const out = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    throwIfStopping();
    const page = await conn.client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ...(token ? { ContinuationToken: token } : {}) }));
    for (const c of page.Contents ?? []) out.set(c.Key!, { size: c.Size ?? -1, etag: (c.ETag ?? '').replace(/"/g, '') });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Checks that a destination bucket holds exactly src's keys, with the same sizes and ETags. */
async function verifyCopy(server: LocalS3, dst: string, who: string): Promise<void> {
  const conn = s3conn(server.endpoint);
  try {
    const [a, b] = await Promise.all([listAll(conn, SRC), listAll(conn, dst)]);
    let missing = 0;
    let differ = 0;
    for (const [k, v] of a) {
      const w = b.get(k);
      if (!w) missing++;
      else if (w.size !== v.size || w.etag !== v.etag) differ++;
    }
    const extra = [...b.keys()].filter((k) => !a.has(k)).length;
    process.stdout.write(`  listed ${SRC} and ${dst} through the SDK: ${int(a.size)} / ${int(b.size)} keys; missing ${missing}, different ${differ}, extra ${extra}\n`);
    check(missing === 0 && differ === 0 && extra === 0, `${who}: ${dst} differs from ${SRC} (missing ${missing}, different ${differ}, extra ${extra})`);
  } finally {
    conn.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------
// Children, measured alike: GNU time's wall seconds (%e) and peak RSS (%M), and the wall from spawn to exit.

const cpu = (m: { cpuMs: number | null }) => (m.cpuMs === null ? 'n/a' : secs(m.cpuMs));
const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`);
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);
const exitOf = (m: Measured) => `exit ${m.code}${m.signal ? ` (${m.signal})` : ''}`;


/** rclone's environment: remote r: on the local server, no config file, nothing from the caller's AWS settings. */
function rcloneEnv(server: LocalS3): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|RCLONE_)/.test(k)) env[k] = v;
  return {
    ...env,
    RCLONE_CONFIG_R_TYPE: 's3',
    RCLONE_CONFIG_R_PROVIDER: 'Other',
    RCLONE_CONFIG_R_ENDPOINT: `http://127.0.0.1:${server.port}`,
    RCLONE_CONFIG_R_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_R_REGION: 'us-east-1',
    RCLONE_CONFIG_R_ACCESS_KEY_ID: KEY,
    RCLONE_CONFIG_R_SECRET_ACCESS_KEY: KEY,
  };
}

/** rclone's NOTICE/ERROR lines and its final stats, for the output. */
function rcloneNotes(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && /NOTICE|ERROR|Failed|Transferred|Checks|Errors|Elapsed|matching|differences/i.test(l))
    .slice(0, 12);
}

// ---------------------------------------------------------------------------------------------------
// Checks

const problems: string[] = [];

function check(ok: boolean, what: string): void {
  if (!ok) {
    problems.push(what);
    process.stdout.write(`  CHECK FAILED: ${what}\n`);
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = options();
  const n = o.objects;
  process.stdout.write(`bench-migrate: ${int(n)} objects, node ${process.version}${haveTime ? '' : ', no /usr/bin/time (wall from spawn to exit, no RSS for rclone)'}\n`);
  const rcloneVersion = await new Promise<string>((resolve) => {
    const c = spawn('rclone', ['version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.once('error', () => resolve(''));
    c.once('close', () => resolve(out.split('\n')[0]!.trim()));
  });
  if (rcloneVersion === '') throw new Error('rclone is not on PATH (apt-get install -y rclone)');
  const tmp = await mkdtemp(join(tmpdir(), 's3mig-bench-migrate-'));
  onCleanup('temp dir', () => rm(tmp, { recursive: true, force: true }));

  const { data, marker } = await cachedSeed(o);
  process.stdout.write(`seed: ${int(marker.objects)} objects, ${int(marker.bytes)} bytes in ${SRC}; ${DST_S3MIG} and ${DST_RCLONE} empty${marker.seedSeconds ? ` (seeded in ${marker.seedSeconds} s)` : ''}\n`);

  // 1. s3mig migrate, on its own fresh server
  const migArgs = ['a/src', `a/${DST_S3MIG}`, '--engine', 'native', ...(o.concurrency !== undefined ? ['--concurrency', String(o.concurrency)] : [])];
  process.stdout.write(`\n== 1. s3mig migrate a/${SRC} a/${DST_S3MIG} --engine native${o.concurrency !== undefined ? ` --concurrency ${o.concurrency}` : ' (s3mig default concurrency)'}\n`);
  const migServer = await freshServer(data, tmp, 's3mig', marker);
  const migDir = await mkdtemp(join(tmp, 's3mig-run-'));
  const mig = await measureS3mig('migrate', migArgs, `http://${KEY}:${KEY}@127.0.0.1:${migServer.port}`, migDir, true);
  const s = mig.summary;
  process.stdout.write(`  ${exitOf(mig.m)}, wall ${secs(mig.m.wallMs)} (/usr/bin/time; ${secs(mig.m.spawnWallMs)} spawn to exit), peak RSS ${mib(mig.m.peakRssBytes)} (/usr/bin/time), ${s ? mib(s.peakRssBytes) : 'n/a'} (summary peakRssBytes), CPU ${cpu(mig.m)} (user+sys)\n`);
  for (const l of mig.logs) process.stdout.write(`  ${l}\n`);
  if (mig.m.stderr.trim() !== '') process.stdout.write(`  stderr: ${mig.m.stderr.trim().slice(0, 4000)}\n`);
  if (s) {
    const t = s.transfer as Record<string, any> | undefined;
    if (t) {
      process.stdout.write(
        `  transfer: engine ${t.engine}, planned ${t.planned ? `${int(t.planned.objects)} objects / ${int(t.planned.bytes)} bytes` : 'n/a'}, copied ${int(t.copied)} (${int(t.copiedBytes)} bytes), failed ${int(t.failed)}, skipped ${int(t.skipped)}${t.failure ? `, failure: ${t.failure}` : ''}\n`,
      );
      for (const f of (t.failures ?? []) as { key: string; error: string }[]) process.stdout.write(`    failed ${JSON.stringify(f.key)}: ${f.error}\n`);
    }
    process.stdout.write(`  outcome ${s.outcome}, counts: ${Object.entries(s.counts as Record<string, number>).map(([k, v]) => `${k} ${int(v)}`).join(', ')}\n`);
    const tm = s.timings as Record<string, number>;
    process.stdout.write(
      `  timings: transfer ${tm.transferMs !== undefined ? secs(tm.transferMs) : 'n/a'}, listing (ingest) ${secs(tm.ingestMs!)}, compare ${secs(tm.compareMs!)}, report ${secs(tm.reportMs!)}, total ${secs(tm.totalMs!)}\n`,
    );
    if (mig.states.length > 0) {
      const st = [...mig.states, { state: 'exit', atMs: mig.m.spawnWallMs }];
      process.stdout.write(`  timeline (s since spawn): ${st.map((x) => `${x.state} ${(x.atMs / 1000).toFixed(2)}`).join(' → ')}\n`);
    }
    check(t !== undefined, 's3mig summary has no transfer');
    check(t?.copied === n, `s3mig transfer.copied ${t?.copied}, expected ${n}`);
    check(t?.failed === 0, `s3mig transfer.failed ${t?.failed}, expected 0`);
    check(s.outcome === 'clean', `s3mig outcome ${s.outcome}, expected clean`);
    check(s.counts.matched === n && s.counts.source === n && s.counts.dest === n, `s3mig counts matched/source/dest ${s.counts.matched}/${s.counts.source}/${s.counts.dest}, expected ${n} each`);
  } else {
    check(false, `s3mig printed no summary line; last stdout/stderr: ${mig.m.stderr.trim().slice(0, 2000)}`);
  }
  check(mig.m.code === 0, `s3mig exited ${mig.m.code}${mig.m.signal ? ` (${mig.m.signal})` : ''}, expected 0`);
  await verifyCopy(migServer, DST_S3MIG, 's3mig');
  await migServer.stop();

  // 2. rclone sync + check, on its own fresh server
  const syncArgs = ['sync', `r:${SRC}`, `r:${DST_RCLONE}`, '--checksum', '--fast-list', ...RCLONE_PARALLEL, '--s3-no-check-bucket', '--stats-log-level', 'NOTICE'];
  const checkArgs = ['check', `r:${SRC}`, `r:${DST_RCLONE}`, '--fast-list', '--checkers', '16'];
  process.stdout.write(`\n== 2. rclone (${rcloneVersion}) sync + check\n`);
  const rcServer = await freshServer(data, tmp, 'rclone', marker);
  const conf = join(tmp, 'rclone-empty.conf');
  await writeFile(conf, '');
  const env = rcloneEnv(rcServer);
  process.stdout.write(`  $ rclone ${syncArgs.join(' ')}\n`);
  const sync = await measure(['rclone', '--config', conf, ...syncArgs], { env, tmp });
  process.stdout.write(`  sync: ${exitOf(sync)}, wall ${secs(sync.wallMs)} (/usr/bin/time; ${secs(sync.spawnWallMs)} spawn to exit), peak RSS ${mib(sync.peakRssBytes)}, CPU ${cpu(sync)} (user+sys)\n`);
  for (const l of rcloneNotes(sync.stderr)) process.stdout.write(`    rclone: ${l}\n`);
  const transferred = /Transferred:\s+(\d+) \/ (\d+), 100%/.exec(sync.stderr);
  check(transferred !== null && Number(transferred[1]) === n, `rclone sync transferred ${transferred ? transferred[1] : '(no stats line)'} objects, expected ${n}`);
  check(sync.code === 0, `rclone sync exited ${sync.code}${sync.signal ? ` (${sync.signal})` : ''}, expected 0; stderr: ${sync.stderr.trim().slice(0, 1000)}`);
  const combined = join(tmp, 'rclone-combined.txt');
  process.stdout.write(`  $ rclone ${checkArgs.join(' ')}\n`);
  const rcheck = await measure(['rclone', '--config', conf, ...checkArgs, '--combined', combined], { env, tmp });
  const same = (await readFile(combined, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('= ')).length;
  process.stdout.write(`  check: ${exitOf(rcheck)}, wall ${secs(rcheck.wallMs)} (/usr/bin/time; ${secs(rcheck.spawnWallMs)} spawn to exit), peak RSS ${mib(rcheck.peakRssBytes)}, CPU ${cpu(rcheck)} (user+sys); ${int(same)} identical\n`);
  for (const l of rcloneNotes(rcheck.stderr)) process.stdout.write(`    rclone: ${l}\n`);
  check(rcheck.code === 0, `rclone check exited ${rcheck.code}${rcheck.signal ? ` (${rcheck.signal})` : ''}, expected 0; stderr: ${rcheck.stderr.trim().slice(0, 1000)}`);
  check(same === n, `rclone check found ${same} identical, expected ${n}`);
  await verifyCopy(rcServer, DST_RCLONE, 'rclone');
  await rcServer.stop();

  // 3. side by side
  const both = { wallMs: sync.wallMs + rcheck.wallMs, cpuMs: sync.cpuMs === null || rcheck.cpuMs === null ? null : sync.cpuMs + rcheck.cpuMs, peakRssBytes: sync.peakRssBytes === null || rcheck.peakRssBytes === null ? null : Math.max(sync.peakRssBytes, rcheck.peakRssBytes) };
  const migRss = mig.m.peakRssBytes ?? (s ? (s.peakRssBytes as number) : null);
  process.stdout.write(`\n== 3. ${int(n)} objects (${int(marker.bytes)} bytes), ${SRC} → empty destination, server-side copies on one local s3rver\n`);
  const rows: [string, number, number | null, { cpuMs: number | null }][] = [
    ['s3mig migrate (copy + list both + compare + report)', mig.m.wallMs, migRss, mig.m],
    ['rclone sync --checksum', sync.wallMs, sync.peakRssBytes, sync],
    ['rclone check', rcheck.wallMs, rcheck.peakRssBytes, rcheck],
    ['rclone sync + check', both.wallMs, both.peakRssBytes, both],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`  ${'tool'.padEnd(w)}  ${'wall'.padStart(9)}  ${'objects/s'.padStart(9)}  ${'peak RSS'.padStart(10)}  ${'CPU'.padStart(9)}\n`);
  for (const [name, ms, rss, m] of rows) {
    process.stdout.write(`  ${name.padEnd(w)}  ${secs(ms).padStart(9)}  ${int(Math.round(n / (ms / 1000))).padStart(9)}  ${mib(rss).padStart(10)}  ${cpu(m).padStart(9)}\n`);
  }
  if (s) {
    const tm = s.timings as Record<string, number>;
    process.stdout.write(
      `  s3mig phases: transfer ${tm.transferMs !== undefined ? secs(tm.transferMs) : 'n/a'}${tm.transferMs ? ` (${int(Math.round(n / (tm.transferMs / 1000)))} objects/s)` : ''}, listing ${secs(tm.ingestMs!)}, compare ${secs(tm.compareMs!)}, report ${secs(tm.reportMs!)}, total ${secs(tm.totalMs!)} (in-process; the rest of the wall is start-up and exit)\n`,
    );
  }
  process.stdout.write(`  ratio s3mig/rclone sync:         time ${ratio(mig.m.wallMs, sync.wallMs)}, RSS ${ratio(migRss, sync.peakRssBytes)}, CPU ${ratio(mig.m.cpuMs, sync.cpuMs)}\n`);
  process.stdout.write(`  ratio s3mig/(rclone sync+check): time ${ratio(mig.m.wallMs, both.wallMs)}, RSS ${ratio(migRss, both.peakRssBytes)}, CPU ${ratio(mig.m.cpuMs, both.cpuMs)}\n`);
  process.stdout.write(
    `  s3mig copies (one CopyObject pinned to the listed ETag and verified by its answer), then lists both sides, compares every key and writes reports; rclone sync --checksum only compares\n  size+MD5 before copying, so "sync + check" is its comparable "copy and prove". rclone flags: ${[...RCLONE_PARALLEL, '--s3-no-check-bucket'].join(' ')}.\n`,
  );

  process.stdout.write(problems.length === 0 ? '\nall checks passed\n' : `\n${problems.length} check(s) failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  process.exitCode = err instanceof UsageError ? 2 : isStopping() ? 130 : 1;
  if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}`);
  else if (!isStopping()) process.stderr.write(`bench-migrate failed: ${(err as Error).stack ?? err}\n`);
} finally {
  await cleanup();
}
