// Benchmarks `s3mig reconcile` against an in-memory Map diff (scripts/map-diff.ts) on generated mc listings.
//
//   npm run bench                              1,000,000 objects per side
//   npm run bench -- --objects 5000000         (also 5e6, 5M, 5_000_000)
//   npm run bench -- --skip-map --cpu-prof     s3mig only, with a CPU profile summary
//
// Inputs are two `mc ls --recursive --json` listings with known drift (1 % missing, 1 % extra, 1 % changed),
// generated once per object count and cached in the work dir (default .bench/, git-ignored) as
// source-N.ndjson, dest-N.ndjson and manifest-N.json. Each tool runs as a child process; the bench measures
// wall time from spawn to exit and peak RSS by polling VmHWM in /proc/PID/status every 50 ms, and checks the
// exit code and every count against the drift it generated. State and report dirs are removed afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { compareKeys } from '../src/core/key-order.ts';
import { UsageError, parseBenchArgs, parseCount } from './bench-common.ts';
import type { CategoryCounts } from '../src/core/tally.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const USAGE = `usage: npm run bench -- [options]

  --objects N      objects per side (default 1000000; accepts 5e6, 5M, 500k, 5_000_000)
  --dir DIR        work dir for cached inputs and temporary state (default .bench/ in the repo)
  --skip-map       do not run the in-memory Map baseline (scripts/map-diff.ts)
  --keep           keep the run's state and report dirs (LevelDB, differences.*) for inspection
  --clean-inputs   delete the generated inputs at the end instead of caching them for the next run
  --cpu-prof       run the children with node --cpu-prof and print where their CPU time went
  -h, --help       this text
`;

// ---------------------------------------------------------------------------------------------------
// Options

interface Options {
  objects: number;
  dir: string;
  skipMap: boolean;
  keep: boolean;
  cleanInputs: boolean;
  cpuProf: boolean;
}

/** A bad command line: reported as its message and the usage, without a stack. */
function options(): Options {
  const values = parseBenchArgs(
    {
      objects: { type: 'string', default: '1000000' },
      dir: { type: 'string' },
      'skip-map': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'clean-inputs': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
    USAGE,
  );
  return {
    objects: parseCount(values.objects!, '--objects', 100),
    dir: resolve(values.dir ?? join(REPO, '.bench')),
    skipMap: values['skip-map']!,
    keep: values.keep!,
    cleanInputs: values['clean-inputs']!,
    cpuProf: values['cpu-prof']!,
  };
}

// ---------------------------------------------------------------------------------------------------
// Input generation: both listings in one streaming pass, keys generated already in UTF-8 byte order.

/** Bump when the generated data changes, so that cached inputs of an older generator are rebuilt. */
const GENERATOR_VERSION = 1;
const SEED = 20261129;
const SOURCE_URL = 'https://s3.eu-west-1.amazonaws.com/media/';
const DEST_URL = 'https://minio.internal:9000/media-copy/';
const FLUSH_CHARS = 1 << 20;

/** Top-level prefixes (some non-ASCII), sorted so that the keys under them come out in byte order. */
const TOPS = [
  'photos/originals',
  'photos/thumbs',
  'invoices/clients',
  'exports/db/warehouse',
  'logs/app/api',
  'backups/pg/prod-eu1',
  'projects/alpha/src/lib/deep/nested',
  'users/zoë/Documents',
  'shared/チーム/資料',
  'données/archivé',
  'media/vidéos',
  'emoji/📁 misc',
].sort((a, b) => compareKeys(`${a}/`, `${b}/`));

const NAMES = [
  'IMG_0412.jpg',
  'DSC01234.JPG',
  'scan-002.pdf',
  'report final (v2).docx',
  'Résumé – Zoë.pdf',
  'données.csv',
  'ファイル.txt',
  '📷 holiday.heic',
  'a&b=c.txt',
  "it's here.txt",
  'say "hi".txt',
  'notes.md',
  'video.mp4',
  'part-00000.snappy.parquet',
  'dump.sql.gz',
  'Übersicht 2025.xlsx',
  'thumb@2x.png',
  'index.html',
];

const STORAGE_CLASSES = ['STANDARD', 'STANDARD', 'STANDARD', 'STANDARD', 'STANDARD', 'STANDARD', 'STANDARD_IA', 'GLACIER'];

/** 730 days from 2023-01-01 as 'YYYY/MM/DD' (key part) and 'YYYY-MM-DD' (lastModified part). */
const DAYS = Array.from({ length: 730 }, (_, i) => new Date(Date.UTC(2023, 0, 1) + i * 86_400_000).toISOString().slice(0, 10));
const DAY_PATHS = DAYS.map((d) => d.replaceAll('-', '/'));
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
const MAX_SIZE_LOG = Math.log(2e8);

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** One line of `mc ls -r --json`, byte for byte what JSON.stringify gives for mcLine in make-sample-data.ts. */
function mcLine(lastModified: string, size: number, key: string, etag: string, url: string, storageClass: string): string {
  return `{"status":"success","type":"file","lastModified":"${lastModified}","size":${size},"key":${JSON.stringify(key)},"etag":"${etag}","url":"${url}","versionOrdinal":1,"storageClass":"${storageClass}"}\n`;
}

/** Buffers lines and writes them to a file stream about 1 MiB at a time, honouring back-pressure. */
class LineWriter {
  private parts: string[] = [];
  private chars = 0;
  lines = 0;
  private readonly stream: WriteStream;

  constructor(path: string) {
    this.stream = createWriteStream(path, { highWaterMark: 4 << 20 });
  }

  /** True when the buffer should be flushed (the caller awaits flush, so the hot path stays synchronous). */
  add(line: string): boolean {
    this.parts.push(line);
    this.chars += line.length;
    this.lines++;
    return this.chars >= FLUSH_CHARS;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.chars = 0;
    if (!ok) await once(this.stream, 'drain');
  }

  async close(): Promise<number> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
    return this.stream.bytesWritten;
  }
}

interface FileInfo {
  name: string;
  bytes: number;
  lines: number;
}

interface Manifest {
  generatorVersion: number;
  seed: number;
  objects: number;
  source: FileInfo;
  dest: FileInfo;
  expected: CategoryCounts;
  generateMs: number;
}

interface Inputs {
  manifest: Manifest;
  sourcePath: string;
  destPath: string;
  manifestPath: string;
  reused: boolean;
}

function inputPaths(dir: string, n: number) {
  return {
    sourcePath: join(dir, `source-${n}.ndjson`),
    destPath: join(dir, `dest-${n}.ndjson`),
    manifestPath: join(dir, `manifest-${n}.json`),
  };
}

async function cachedInputs(dir: string, n: number): Promise<Inputs | undefined> {
  const paths = inputPaths(dir, n);
  try {
    const manifest = JSON.parse(await readFile(paths.manifestPath, 'utf8')) as Manifest;
    if (manifest.generatorVersion !== GENERATOR_VERSION || manifest.objects !== n) return undefined;
    if ((await stat(paths.sourcePath)).size !== manifest.source.bytes) return undefined;
    if ((await stat(paths.destPath)).size !== manifest.dest.bytes) return undefined;
    return { manifest, ...paths, reused: true };
  } catch {
    return undefined;
  }
}

/**
 * Writes N source objects and the destination with exact drift, walking source index s in order:
 * s % 100 == 37 is missing from the destination, s % 100 == 73 changed there (a different plain ETag for
 * every other hundred, size + 1 otherwise or when the ETag is multipart or the object empty), and after
 * s % 100 == 55 comes a key only the destination has. Keys are
 * `${top}/${YYYY/MM/DD}/${seq}-${name}` with seq = 2s (2s + 1 for the extra key) zero-padded, and top and
 * day non-decreasing in s, so both files are in UTF-8 byte order without sorting.
 */
async function generate(dir: string, n: number): Promise<Inputs> {
  const t0 = performance.now();
  const paths = inputPaths(dir, n);
  const tmp = { source: `${paths.sourcePath}.tmp-${process.pid}`, dest: `${paths.destPath}.tmp-${process.pid}` };
  const src = new LineWriter(tmp.source);
  const dst = new LineWriter(tmp.dest);
  const rand = prng(SEED ^ n);
  const unit = () => rand() / 4294967296;
  const hex32 = () => {
    let h = '';
    for (let i = 0; i < 4; i++) {
      const x = rand();
      h += HEX[x >>> 24]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!;
    }
    return h;
  };
  const seqWidth = Math.max(6, String(2 * n + 1).length);
  const expected: CategoryCounts = { matched: 0, missing: 0, extra: 0, sizeMismatch: 0, etagMismatch: 0, unverified: 0, source: 0, dest: 0 };
  let totalSize = 0;
  let lastKey = '';
  let progressAt = performance.now();
  let progressShown = false;

  const object = (s: number, seq: number) => {
    const top = Math.floor((s * TOPS.length) / n);
    const topStart = Math.ceil((top * n) / TOPS.length);
    const topEnd = Math.ceil(((top + 1) * n) / TOPS.length);
    const day = Math.floor(((s - topStart) * DAYS.length) / (topEnd - topStart));
    const key = `${TOPS[top]}/${DAY_PATHS[day]}/${String(seq).padStart(seqWidth, '0')}-${NAMES[rand() % NAMES.length]}`;
    if (compareKeys(lastKey, key) >= 0) throw new Error(`generator bug: ${JSON.stringify(key)} after ${JSON.stringify(lastKey)}`);
    lastKey = key;
    const r = unit();
    const size = r < 0.005 ? 0 : Math.floor(Math.exp(unit() * MAX_SIZE_LOG));
    const etag = size === 0 ? EMPTY_MD5 : size > MULTIPART_THRESHOLD ? `${hex32()}-${Math.ceil(size / (16 * 1024 * 1024))}` : hex32();
    const x = rand();
    const lastModified = `${DAYS[day]}T${pad2(x % 24)}:${pad2((x >>> 5) % 60)}:${pad2((x >>> 11) % 60)}.${pad3((x >>> 17) % 1000)}Z`;
    const mirrored = `2025-11-29T03:${pad2((s >>> 8) % 60)}:${pad2(s % 60)}.${pad3(x % 1000)}Z`;
    return { key, size, etag, lastModified, mirrored, storageClass: STORAGE_CLASSES[x % STORAGE_CLASSES.length]! };
  };

  for (let s = 0; s < n; s++) {
    const m = s % 100;
    const o = object(s, 2 * s);
    totalSize += o.size;
    expected.source++;
    let flush = src.add(mcLine(o.lastModified, o.size, o.key, o.etag, SOURCE_URL, o.storageClass));
    if (m === 37) {
      expected.missing++;
    } else if (m === 73) {
      expected.dest++;
      if ((s / 100) % 2 < 1 && o.size > 0 && !o.etag.includes('-')) {
        expected.etagMismatch++;
        flush = dst.add(mcLine(o.mirrored, o.size, o.key, hex32(), DEST_URL, o.storageClass)) || flush;
      } else {
        expected.sizeMismatch++;
        flush = dst.add(mcLine(o.mirrored, o.size + 1, o.key, hex32(), DEST_URL, o.storageClass)) || flush;
      }
    } else {
      expected.dest++;
      expected.matched++;
      flush = dst.add(mcLine(o.mirrored, o.size, o.key, o.etag, DEST_URL, o.storageClass)) || flush;
    }
    if (m === 55) {
      const e = object(s, 2 * s + 1);
      expected.dest++;
      expected.extra++;
      flush = dst.add(mcLine(e.mirrored, e.size, e.key, e.etag, DEST_URL, e.storageClass)) || flush;
    }
    if (flush) {
      await Promise.all([src.flush(), dst.flush()]);
      const t = performance.now();
      if (t - progressAt >= 2000 && process.stderr.isTTY) {
        progressAt = t;
        progressShown = true;
        process.stderr.write(`  generating: ${fmtInt(s + 1)} / ${fmtInt(n)} source objects\r`);
      }
    }
  }
  src.add(`${JSON.stringify({ totalObjects: n, totalSize })}\n`); // the --summarize line mc ends a listing with
  const [sourceBytes, destBytes] = await Promise.all([src.close(), dst.close()]);
  await rename(tmp.source, paths.sourcePath);
  await rename(tmp.dest, paths.destPath);
  const manifest: Manifest = {
    generatorVersion: GENERATOR_VERSION,
    seed: SEED,
    objects: n,
    source: { name: `source-${n}.ndjson`, bytes: sourceBytes, lines: src.lines },
    dest: { name: `dest-${n}.ndjson`, bytes: destBytes, lines: dst.lines },
    expected,
    generateMs: Math.round(performance.now() - t0),
  };
  await writeFile(paths.manifestPath, JSON.stringify(manifest, null, 2) + '\n'); // last: marks the pair complete
  if (progressShown) process.stderr.write(' '.repeat(60) + '\r');
  return { manifest, ...paths, reused: false };
}

// ---------------------------------------------------------------------------------------------------
// Running and measuring a child process

interface Measured {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** Max VmHWM seen while polling /proc/PID/status; NaN where /proc is unavailable. */
  hwmBytes: number;
  /** Max RssAnon seen while polling: VmHWM without file-backed pages (LevelDB mmaps its table files). */
  anonBytes: number;
  stdout: string;
  stderr: string;
}

const POLL_MS = 50;
const KEEP_OUTPUT_CHARS = 1 << 20;
let running: ReturnType<typeof spawn> | undefined;

function readStatus(pid: number): { hwm: number; anon: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    };
    return { hwm: kb('VmHWM'), anon: kb('RssAnon') };
  } catch {
    return { hwm: NaN, anon: NaN }; // gone already, or not Linux
  }
}

async function measure(args: string[]): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  running = child;
  let hwm = NaN;
  let anon = NaN;
  const poll = () => {
    if (child.pid === undefined) return;
    const v = readStatus(child.pid);
    if (!Number.isNaN(v.hwm) && !(v.hwm <= hwm)) hwm = v.hwm;
    if (!Number.isNaN(v.anon) && !(v.anon <= anon)) anon = v.anon;
  };
  const timer = setInterval(poll, POLL_MS);
  child.once('spawn', poll);
  let stdout = '';
  let stderr = '';
  const keep = (s: string, chunk: Buffer) => {
    s += chunk.toString('utf8');
    return s.length > KEEP_OUTPUT_CHARS ? s.slice(-KEEP_OUTPUT_CHARS / 2) : s;
  };
  child.stdout!.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
  child.stderr!.on('data', (c: Buffer) => (stderr = keep(stderr, c)));
  let wallMs = 0;
  child.once('exit', () => {
    wallMs = performance.now() - t0;
    clearInterval(timer);
  });
  const [exitCode, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearInterval(timer);
  running = undefined;
  return { exitCode, signal, wallMs, hwmBytes: hwm, anonBytes: anon, stdout, stderr };
}

// ---------------------------------------------------------------------------------------------------
// CPU profiles (--cpu-prof): self time per function of the main thread, biggest first.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function summarizeProfile(dir: string, top = 25): string {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return `  (no .cpuprofile in ${dir})\n`;
  // Worker threads (tsx's loader) write their own profiles; the main thread's is the biggest.
  const file = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.startsWith('file://') ? show(fileURLToPath(url)) : url;
    const label = `${functionName || '(anonymous)'}  ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    self.set(label, (self.get(label) ?? 0) + dt);
    const area = !where
      ? functionName
      : where.startsWith('src/')
        ? where.split('/').slice(0, 2).join('/')
        : where.startsWith('node_modules/')
          ? where.split('/').slice(0, where.startsWith('node_modules/@') ? 3 : 2).join('/')
          : where.startsWith('node:')
            ? 'node: built-ins'
            : where;
    byArea.set(area, (byArea.get(area) ?? 0) + dt);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const ms = (us: number) => `${fmtInt(Math.round(us / 1000)).padStart(8)} ms`;
  let out = `  ${show(file)}: ${fmtInt(Math.round(total / 1000))} ms sampled\n  by area:\n`;
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 12)) out += `    ${ms(us)} ${pct(us)}  ${area}\n`;
  out += `  top ${top} functions by self time:\n`;
  for (const [label, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) out += `    ${ms(us)} ${pct(us)}  ${label}\n`;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Reporting

const COUNT_KEYS = ['matched', 'missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified', 'source', 'dest'] as const;

/** A path relative to the repo when it is inside it, else absolute. */
function show(path: string): string {
  const r = relative(REPO, path);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? path : r;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
const mb = (bytes: number) => (Number.isFinite(bytes) ? (bytes / (1024 * 1024)).toFixed(1) : '-');
const secs = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '-' : (ms / 1000).toFixed(2));

function countsCheck(expected: CategoryCounts, actual: Partial<CategoryCounts> | undefined): { ok: boolean; detail: string } {
  if (!actual) return { ok: false, detail: 'no counts' };
  const wrong = COUNT_KEYS.filter((k) => actual[k] !== expected[k]).map((k) => `${k} ${actual[k]} != ${expected[k]}`);
  return { ok: wrong.length === 0, detail: wrong.join(', ') };
}

interface Row {
  tool: string;
  wallMs: number;
  hwmBytes: number;
  anonBytes: number;
  selfPeakBytes: number;
  phases: { ingestMs?: number; compareMs?: number; reportMs?: number; totalMs?: number };
  exitCode: number | null;
  exitOk: boolean;
  counts: { ok: boolean; detail: string };
}

function printTable(n: number, rows: Row[]): void {
  const head = ['tool', 'wall s', 'objects/s per side', 'peak RSS MB (VmHWM)', 'peak RSS MB (self)', 'peak anon MB', 'ingest s', 'compare s', 'report s', 'in-process s', 'exit', 'counts'];
  const body = rows.map((r) => [
    r.tool,
    secs(r.wallMs),
    fmtInt(n / (r.wallMs / 1000)),
    mb(r.hwmBytes),
    mb(r.selfPeakBytes),
    mb(r.anonBytes),
    secs(r.phases.ingestMs),
    secs(r.phases.compareMs),
    secs(r.phases.reportMs),
    secs(r.phases.totalMs),
    `${r.exitCode}${r.exitOk ? '' : ' (!)'}`,
    r.counts.ok ? 'OK' : 'MISMATCH',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = options();
  const n = opts.objects;
  await mkdir(opts.dir, { recursive: true });
  const shown = show(opts.dir);

  let inputs = await cachedInputs(opts.dir, n);
  if (!inputs) {
    console.log(`generating ${fmtInt(n)} objects per side in ${shown}/ ...`);
    inputs = await generate(opts.dir, n);
  }
  const { manifest } = inputs;
  const e = manifest.expected;
  console.log(
    `inputs (${inputs.reused ? 'cached' : `generated in ${secs(manifest.generateMs)} s`}): ` +
      `${show(inputs.sourcePath)} ${fmtInt(manifest.source.lines)} lines ${mb(manifest.source.bytes)} MB ` +
      `(${Math.round(manifest.source.bytes / manifest.source.lines)} B/line), ` +
      `${show(inputs.destPath)} ${fmtInt(manifest.dest.lines)} lines ${mb(manifest.dest.bytes)} MB`,
  );
  console.log(`expected: ${COUNT_KEYS.map((k) => `${k} ${fmtInt(e[k])}`).join(', ')}`);

  const runDir = await mkdtemp(join(opts.dir, 'run-'));
  const onSignal = (sig: NodeJS.Signals) => {
    running?.kill(sig);
    if (!opts.keep) void rm(runDir, { recursive: true, force: true }).finally(() => process.exit(130));
    else process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const profDir = (tool: string) => join(opts.dir, 'profiles', `${tool}-${n}-${Date.now()}`);
  const profArgs = (dir: string) => (opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', dir] : []);
  const rows: Row[] = [];
  const profiles: [string, string][] = [];
  try {
    // s3mig
    const stateDir = join(runDir, 'state');
    const reportDir = join(runDir, 'report');
    const s3migProf = profDir('s3mig');
    console.log(`running s3mig reconcile ...`);
    const s = await measure([
      ...profArgs(s3migProf),
      join(REPO, 'bin/s3mig.js'),
      'reconcile',
      `inventory:${inputs.sourcePath}`,
      `inventory:${inputs.destPath}`,
      '--state-dir',
      stateDir,
      '--report-dir',
      reportDir,
      '--json',
    ]);
    let summary: { counts?: CategoryCounts; peakRssBytes?: number; timings?: Row['phases'] } = {};
    try {
      summary = JSON.parse(await readFile(join(reportDir, 'summary.json'), 'utf8'));
    } catch (err) {
      console.log(`  cannot read ${join(reportDir, 'summary.json')}: ${(err as Error).message}`);
    }
    if (s.exitCode !== 1) console.log(`  s3mig exited with ${s.exitCode ?? s.signal}, expected 1; stderr:\n${s.stderr.slice(-4000)}`);
    rows.push({
      tool: 's3mig',
      wallMs: s.wallMs,
      hwmBytes: s.hwmBytes,
      anonBytes: s.anonBytes,
      selfPeakBytes: summary.peakRssBytes ?? NaN,
      phases: summary.timings ?? {},
      exitCode: s.exitCode,
      exitOk: s.exitCode === 1,
      counts: countsCheck(e, summary.counts),
    });
    if (opts.cpuProf) profiles.push(['s3mig', s3migProf]);

    // map-diff
    if (!opts.skipMap) {
      const mapProf = profDir('map-diff');
      console.log(`running map-diff ...`);
      const m = await measure([...profArgs(mapProf), '--import', 'tsx', join(REPO, 'scripts/map-diff.ts'), inputs.sourcePath, inputs.destPath]);
      let out: { counts?: CategoryCounts; peakRssBytes?: number; timings?: { loadSourceMs: number; walkDestMs: number; totalMs: number } } = {};
      try {
        out = JSON.parse(m.stdout.trim().split('\n').pop() ?? '');
      } catch {
        console.log(`  map-diff printed no result (exit ${m.exitCode ?? m.signal}); stderr:\n${m.stderr.slice(-4000)}`);
      }
      rows.push({
        tool: 'map-diff',
        wallMs: m.wallMs,
        hwmBytes: m.hwmBytes,
        anonBytes: m.anonBytes,
        selfPeakBytes: out.peakRssBytes ?? NaN,
        // Its phases are "read the source into the Map" and "walk the destination" (reported as ingest and compare).
        phases: out.timings ? { ingestMs: out.timings.loadSourceMs, compareMs: out.timings.walkDestMs, totalMs: out.timings.totalMs } : {},
        exitCode: m.exitCode,
        exitOk: m.exitCode === 1,
        counts: countsCheck(e, out.counts),
      });
      if (opts.cpuProf) profiles.push(['map-diff', mapProf]);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (opts.keep) console.log(`kept state and reports in ${show(runDir)}/`);
    else await rm(runDir, { recursive: true, force: true });
    if (opts.cleanInputs) {
      await Promise.all([inputs.sourcePath, inputs.destPath, inputs.manifestPath].map((p) => rm(p, { force: true })));
    }
  }

  console.log('');
  console.log(`reconcile of ${fmtInt(n)} objects per side (node ${process.version}, ${process.platform})`);
  printTable(n, rows);
  console.log('');
  console.log('wall: spawn to exit, node and tsx start-up included. peak RSS: VmHWM polled every 50 ms / the process\'s own maxRSS');
  console.log('  (s3mig: summary.json peakRssBytes); both include file pages LevelDB maps in; peak anon: polled max of RssAnon,');
  console.log('  the anonymous memory (heaps, buffers) alone. phases: s3mig summary.json timings, in-process = totalMs;');
  console.log('  for map-diff ingest = load the source Map, compare = walk the destination.');
  for (const r of rows) {
    if (!r.counts.ok) console.log(`${r.tool} counts MISMATCH: ${r.counts.detail}`);
  }
  for (const [tool, dir] of profiles) {
    console.log(`\nCPU profile of ${tool}:`);
    process.stdout.write(summarizeProfile(dir));
  }
  return rows.every((r) => r.counts.ok && r.exitOk) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 2;
  },
);
