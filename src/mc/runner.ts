// Runs mc as a child process (argv array, no shell, no TTY) and streams its JSON lines as typed messages.
// Success is read with mc's semantics (reference/mc-json.md): an error object fails the run even after
// exit 0; 130/143 mean interrupted; a summary can be required. Cancellation: SIGTERM, then SIGKILL after
// a grace period, and the promise settles only once the child has exited.
import { StringDecoder } from 'node:string_decoder';
import { execa } from 'execa';
import { S3migError } from '../core/errors.ts';
import { parseMcLine } from './messages.ts';
import type { McErrorMessage, McMessage, McTextLine } from './messages.ts';

export const STDERR_TAIL_BYTES = 16 * 1024;
export const MAX_KEPT_ERRORS = 100;
/** The first release with `stat --no-list`. */
export const MIN_MC_RELEASE = 'RELEASE.2024-08-13';

export interface McRunOptions {
  /** Extra child environment, e.g. the `MC_HOST_<alias>` values s3mig resolved. Never echoed back. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Delay between SIGTERM and SIGKILL after an abort; default 5000 ms. */
  graceMs?: number;
  /** Default `mc`, looked up on PATH (the child's PATH when env.PATH is given). */
  mcPath?: string;
  /** Called for every stdout line as it arrives, in order. */
  onMessage?: (m: McMessage | McTextLine) => void;
  /** A run without a summary line fails (mirror, cp). */
  expectSummary?: boolean;
  /**
   * Error objects mc prints that are not failures of the run (mirror's "Overwrite not allowed" skips):
   * still delivered to onMessage and counted in `expectedErrors`, but not in `errorCount`/`errors`,
   * and they do not make `ok` false.
   */
  isExpectedError?: (e: McErrorMessage) => boolean;
}

export interface McRunResult {
  exitCode: number | undefined;
  signal: string | undefined;
  /** Exit 130/143, or killed because our signal aborted. */
  interrupted: boolean;
  /** The first MAX_KEPT_ERRORS error objects (expected ones excluded). */
  errors: McErrorMessage[];
  errorCount: number;
  /** Error objects isExpectedError accepted (always 0 without it). */
  expectedErrors: number;
  /** The first MAX_KEPT_ERRORS of those. */
  expectedErrorSamples: McErrorMessage[];
  /** Messages per type (text lines and expected errors included). */
  counts: Record<string, number>;
  lineCount: number;
  sawSummary: boolean;
  /** The last STDERR_TAIL_BYTES of stderr. */
  stderrTail: string;
  ok: boolean;
}

/** Splits a stream of text chunks into lines; `\r\n` and `\n` both end a line. */
export class LineSplitter {
  private rest = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    let text = this.rest + chunk;
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      this.emit(line);
    }
    this.rest = text;
  }

  /** Delivers a last line that had no newline. */
  end(): void {
    if (this.rest !== '') this.emit(this.rest);
    this.rest = '';
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

/** Keeps the last `limit` bytes written. */
class TailBuffer {
  private buf = Buffer.alloc(0);

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buf, chunk]);
    this.buf = joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }

  toString(): string {
    return this.buf.toString('utf8');
  }
}

/** Runs `mc --json --no-color ...args`. Rejects only when mc cannot be started; every run outcome resolves. */
export async function runMc(args: string[], options: McRunOptions = {}): Promise<McRunResult> {
  const mcPath = options.mcPath ?? 'mc';
  const graceMs = options.graceMs ?? 5000;
  const errors: McErrorMessage[] = [];
  const counts: Record<string, number> = {};
  let errorCount = 0;
  const expectedErrorSamples: McErrorMessage[] = [];
  let expectedErrors = 0;
  let lineCount = 0;
  let sawSummary = false;
  let callbackError: unknown;
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);

  const deliver = (line: string): void => {
    const m = parseMcLine(line);
    lineCount++;
    counts[m.type] = (counts[m.type] ?? 0) + 1;
    if (m.type === 'error') {
      let expected = false;
      if (options.isExpectedError && callbackError === undefined) {
        try {
          expected = options.isExpectedError(m);
        } catch (err) {
          callbackError = err;
        }
      }
      if (expected) {
        expectedErrors++;
        if (expectedErrorSamples.length < MAX_KEPT_ERRORS) expectedErrorSamples.push(m);
      } else {
        errorCount++;
        if (errors.length < MAX_KEPT_ERRORS) errors.push(m);
      }
    } else if (m.type === 'summary' || m.type === 'lsSummary') {
      sawSummary = true;
    }
    if (options.onMessage && callbackError === undefined) {
      try {
        options.onMessage(m);
      } catch (err) {
        callbackError = err;
      }
    }
  };
  const splitter = new LineSplitter(deliver);
  const decoder = new StringDecoder('utf8');

  const child = execa(mcPath, ['--json', '--no-color', ...args], {
    shell: false,
    stdin: 'ignore',
    env: { ...options.env, TZ: 'UTC' },
    extendEnv: true,
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    killSignal: 'SIGTERM',
    forceKillAfterDelay: graceMs,
  });
  child.stdout.on('data', (chunk: Buffer) => splitter.push(decoder.write(chunk)));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  const result = await child;
  splitter.push(decoder.end());
  splitter.end();

  if (result.exitCode === undefined && !result.signal && !result.isCanceled) {
    // Never started (ENOENT, EACCES): name the path only, never the environment.
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code ?? 'spawn failed';
    throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `cannot run mc at ${mcPath}: ${code}`);
  }
  if (callbackError !== undefined) throw callbackError;

  const exitCode = result.exitCode;
  const signal = result.signal;
  const interrupted = exitCode === 130 || exitCode === 143 || result.isCanceled === true;
  const ok =
    exitCode === 0 && !signal && !interrupted && errorCount === 0 && (!options.expectSummary || sawSummary);
  return {
    exitCode,
    signal,
    interrupted,
    errors,
    errorCount,
    expectedErrors,
    expectedErrorSamples,
    counts,
    lineCount,
    sawSummary,
    stderrTail: stderr.toString(),
    ok,
  };
}

export interface McRelease {
  /** e.g. RELEASE.2024-10-02T17-50-41Z */
  release: string;
  date: Date;
}

const RELEASE_RE = /RELEASE\.(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})-(\d{2})-(\d{2})Z)?/;

/** Reads a release tag out of any text (e.g. `mc version RELEASE.2024-10-02T17-50-41Z (commit-id=…)`). */
export function parseMcRelease(text: string): McRelease | undefined {
  const m = RELEASE_RE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (Number.isNaN(date.getTime())) return undefined;
  return { release: m[0], date };
}

/** Refuses releases older than RELEASE.2024-08-13 (no `stat --no-list`). */
export function checkMcVersion(release: string): McRelease {
  const parsed = parseMcRelease(release);
  const min = parseMcRelease(MIN_MC_RELEASE)!;
  if (!parsed) {
    throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `unrecognised mc version "${release.trim().slice(0, 80)}": s3mig needs mc ${MIN_MC_RELEASE} or newer`);
  }
  if (parsed.date.getTime() < min.date.getTime()) {
    throw new S3migError(
      'S3MIG_TARGET_UNSUPPORTED',
      `mc ${parsed.release} is too old: s3mig needs mc ${MIN_MC_RELEASE} or newer (the first with stat --no-list)`,
    );
  }
  return parsed;
}

const versionCache = new Map<string, Promise<McRelease>>();

/** Runs `mc --version` once per path and parses its release (not checked; see checkMcVersion). */
export function mcVersion(mcPath = 'mc'): Promise<McRelease> {
  let cached = versionCache.get(mcPath);
  if (!cached) {
    cached = readVersion(mcPath);
    versionCache.set(mcPath, cached);
    cached.catch(() => versionCache.delete(mcPath));
  }
  return cached;
}

async function readVersion(mcPath: string): Promise<McRelease> {
  const r = await execa(mcPath, ['--version'], { shell: false, stdin: 'ignore', reject: false, timeout: 30_000, env: { TZ: 'UTC' } });
  if (r.exitCode !== 0) {
    const why = r.exitCode === undefined ? ((r.cause as NodeJS.ErrnoException | undefined)?.code ?? 'spawn failed') : `exit ${r.exitCode}`;
    throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `cannot read the mc version from ${mcPath} --version: ${why}`);
  }
  const parsed = parseMcRelease(String(r.stdout));
  if (!parsed) {
    throw new S3migError('S3MIG_TARGET_UNSUPPORTED', `cannot read the mc version from ${mcPath} --version: no RELEASE tag in its output`);
  }
  return parsed;
}

/** For tests: forget cached versions. */
export function clearMcVersionCache(): void {
  versionCache.clear();
}
