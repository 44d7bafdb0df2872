// What the benchmarks in scripts/ share: count options, cleanup on exit and signals, a deterministic
// PRNG, an S3 connection to the local server, and a child process measured by /usr/bin/time.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Secret } from '../src/core/secret.ts';
import { connect, type S3Connection } from '../src/s3/client.ts';

export const REPO = fileURLToPath(new URL('../', import.meta.url));
export const TIME = '/usr/bin/time';
/** The local server's access key and secret. */
export const KEY = 'S3RVER';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type WithHelp<O extends Options> = { options: O & { help: { type: 'boolean'; short: 'h'; default: false } }; strict: true; allowPositionals: false };

/**
 * A benchmark's command line (strict, no positionals, `-h`/`--help` added): a bad one is a UsageError
 * (its message and the usage, without a stack); `--help` prints the usage and exits 0.
 */
export function parseBenchArgs<const O extends Options>(options: O, usage: string): ReturnType<typeof parseArgs<WithHelp<O>>>['values'] {
  const config = { options: { ...options, help: { type: 'boolean', short: 'h', default: false } }, strict: true, allowPositionals: false } as WithHelp<O>;
  let values: ReturnType<typeof parseArgs<WithHelp<O>>>['values'];
  try {
    ({ values } = parseArgs(config));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if ((values as { help?: boolean }).help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}

/** A count like 10000, 1e4, 10k or 10_000; at least `min`. */
export function parseCount(text: string, what: string, min: number): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(text.replace(/[_,]/g, ''));
  const n = m ? Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1e3 : 1e6) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Cleanup: everything started registers its stop here; run once, in reverse order, on exit or signal.

const cleanups: { name: string; fn: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;

/** Set by a signal: nothing new starts, and the run ends once cleanup is done. */
let stopping = false;

/** A signal asked the run to stop. */
export function isStopping(): boolean {
  return stopping;
}

export function throwIfStopping(): void {
  if (stopping) throw new Error('stopped by a signal');
}

export function onCleanup(name: string, fn: () => Promise<void>): () => void {
  const item = { name, fn };
  if (cleaning) {
    // Started while stopping: stop it at once.
    void fn().catch(() => undefined);
    return () => undefined;
  }
  cleanups.push(item);
  return () => {
    const i = cleanups.indexOf(item);
    if (i !== -1) cleanups.splice(i, 1);
  };
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const { name, fn } = cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup of ${name} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/** On SIGINT, SIGTERM or SIGHUP: start nothing new, run every cleanup, exit 130. */
export function stopOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping\n`);
      stopping = true;
      void cleanup().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Data and connections

/** mulberry32: a small deterministic PRNG, so that a seed can be checked and reproduced. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function s3conn(url: string): S3Connection {
  return connect({ url, region: 'us-east-1', pathStyle: true }, { accessKey: KEY, secretKey: new Secret(KEY) });
}

// ---------------------------------------------------------------------------------------------------
// A measured child process

export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Spawn to exit, measured here. */
  spawnWallMs: number;
  /** /usr/bin/time's %e in ms when there is one, else spawnWallMs. */
  wallMs: number;
  /** From /usr/bin/time %M, bytes; null without it. */
  peakRssBytes: number | null;
  /** From /usr/bin/time %U + %S (user + system CPU), ms; null without it. */
  cpuMs: number | null;
  stdoutLines: string[];
  stderr: string;
}

export const haveTime = existsSync(TIME);

export async function measure(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; tmp: string; onLine?: (line: string) => void; keepLines?: boolean },
): Promise<Measured> {
  throwIfStopping();
  const timeFile = join(opts.tmp, `time-${Math.random().toString(36).slice(2)}.txt`);
  const cmd = haveTime ? [TIME, '-o', timeFile, '-f', '%e %M %U %S', ...argv] : argv;
  const t0 = performance.now();
  // Its own process group, so that stopping it stops what it started.
  const child: ChildProcess = spawn(cmd[0]!, cmd.slice(1), { cwd: REPO, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve([code, signal]));
  });
  const unregister = onCleanup(`child ${child.pid} (${argv.slice(0, 3).join(' ')})`, async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited.catch(() => undefined);
    clearTimeout(timer);
  });
  const stdoutLines: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    opts.onLine?.(line);
    if (opts.keepLines) stdoutLines.push(line);
  });
  // The first and the last 32 KiB of stderr.
  let head = '';
  let tail = '';
  let dropped = false;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (head.length < 32_768) head += d;
    else {
      tail += d;
      if (tail.length > 65_536) {
        tail = tail.slice(-32_768);
        dropped = true;
      }
    }
  });
  const [code, signal] = await exited;
  const spawnWallMs = performance.now() - t0;
  unregister();
  throwIfStopping();
  const stderr = dropped ? `${head}\n[...]\n${tail.slice(tail.indexOf('\n') + 1)}` : head + tail;
  let peakRssBytes: number | null = null;
  let wallMs = spawnWallMs;
  let cpuMs: number | null = null;
  if (haveTime) {
    const [e, kib, user, sys] = ((await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop() ?? '').split(' ').map(Number);
    if (Number.isFinite(kib) && kib! > 0) peakRssBytes = kib! * 1024;
    if (Number.isFinite(e) && e! > 0) wallMs = e! * 1000;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuMs = (user! + sys!) * 1000;
  }
  return { code, signal, spawnWallMs, wallMs, peakRssBytes, cpuMs, stdoutLines, stderr };
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
export const int = (n: number) => n.toLocaleString('en');

export interface S3migRun {
  m: Measured;
  summary: Record<string, any> | null;
  logs: string[];
  /** Job states with the ms since spawn at which they were entered (from the events' ts). */
  states: { state: string; atMs: number }[];
}

/**
 * `node bin/s3mig.js COMMAND ARGS --state-dir --report-dir --json` with alias `a` on the local server,
 * measured; its log events and state changes kept, its last line read as the summary.
 */
export async function measureS3mig(command: string, args: string[], mcHost: string, tmp: string, echo = false): Promise<S3migRun> {
  const logs: string[] = [];
  const states: { state: string; atMs: number }[] = [];
  const spawnedAt = Date.now();
  let last = '';
  const argv = [process.execPath, join(REPO, 'bin/s3mig.js'), command, ...args, '--state-dir', join(tmp, 'state'), '--report-dir', join(tmp, 'reports'), '--json'];
  if (echo) process.stdout.write(`  $ MC_HOST_a=http://${KEY}:***@127.0.0.1:… node bin/s3mig.js ${argv.slice(2).join(' ')}\n`);
  const m = await measure(argv, {
    env: { ...process.env, MC_HOST_a: mcHost },
    tmp,
    onLine: (line) => {
      if (line.trim() === '') return;
      last = line;
      try {
        const e = JSON.parse(line) as { type?: string; level?: string; message?: string; code?: string; state?: string; ts?: string };
        if (e.type === 'log') logs.push(`[${e.level}${e.code ? ` ${e.code}` : ''}] ${e.message}`);
        if (e.type === 'job:state' && e.state && e.ts) states.push({ state: e.state, atMs: Date.parse(e.ts) - spawnedAt });
      } catch {
        logs.push(`[not json] ${line.slice(0, 300)}`);
      }
    },
  });
  let summary: Record<string, any> | null = null;
  try {
    const s = JSON.parse(last) as Record<string, any>;
    if (s.type === 'summary') summary = s;
  } catch {
    // the caller reports a missing summary
  }
  return { m, summary, logs, states };
}
