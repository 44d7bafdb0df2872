// `mc mirror` as a typed, cancellable run: validated argv, throttled progress, errors attributed to keys,
// and a verdict read with mirror's traps in mind (reference/mc-json.md §3: copy lines mean STARTED, exit 0
// with an error object is a failure, a missing summary is a failure, "Overwrite not allowed" is a skip).
import { S3migError, linkedAbort } from '../core/errors.ts';
import { checkMcVersion, mcVersion, parseMcRelease, runMc, MAX_KEPT_ERRORS } from './runner.ts';
import { URL_RE, keyOfMcUrl, type McUrlBase } from './urls.ts';
import type { McRelease, McRunResult } from './runner.ts';
import type { McErrorMessage, McMessage, McSummaryMessage, McTextLine } from './messages.ts';

/** The first release with `mirror --max-workers`. */
export const MAX_WORKERS_SINCE = 'RELEASE.2025-07-16';

/**
 * What s3mig lets a caller ask of `mc mirror`. Never `--dry-run` (it prints no per-object lines) and never
 * `--watch` (it never exits): neither can be expressed here.
 */
export interface MirrorFlags {
  /** `--overwrite`: replace target objects that differ (size, or older mtime). Without it they are skipped. */
  overwrite?: boolean;
  /** `--remove`: delete target objects missing from the source. */
  remove?: boolean;
  /** `--exclude PATTERN`, once per pattern (mc's wildcard match on the name relative to the source). */
  exclude?: string[];
  /** `--newer-than`: a duration like `7d10h` (units ns us ms s m h d w y) or a date `2006.01.02[T15:04[:05]]` / RFC3339 (dates read as UTC: mc runs with TZ=UTC). */
  newerThan?: string;
  /** `--older-than`: same forms as newerThan. */
  olderThan?: string;
  /** Global `--limit-upload`: bytes per second in humanize form (`10MiB`, `512KiB`, `1GB`; `MiB` ≠ `MB`). */
  limitUpload?: string;
  /** `--skip-errors`: keep going after a failed object (the exit code is still 1). */
  skipErrors?: boolean;
  /** `--retry`: up to 3 retries per object, one retry line each. */
  retry?: boolean;
  /** `--preserve` (`-a`): file attributes, and a metadata compare. */
  preserve?: boolean;
  /** `--storage-class`: e.g. `STANDARD_IA`. */
  storageClass?: string;
  /** `--max-workers N`: only on mc RELEASE.2025-07-16 or newer; dropped (and reported) on older releases. */
  maxWorkers?: number;
  /** `--summary`: mc suppresses its copy lines, so startedObjects/startedBytes and the queued totals stay 0. */
  summaryOnly?: boolean;
}

/** A requested flag the installed mc cannot take, left out of the argv. */
export interface MirrorDroppedFlag {
  flag: string;
  value: string;
  /** One line, e.g. "needs mc RELEASE.2025-07-16 or newer; installed RELEASE.2024-10-02T17-50-41Z". */
  reason: string;
}

export interface MirrorArgsPlan {
  /** The argv after `--json --no-color` (runMc adds those). */
  args: string[];
  dropped: MirrorDroppedFlag[];
}

const invalid = (flag: string, value: unknown, why: string): S3migError =>
  new S3migError('S3MIG_CONFIG_INVALID', `mirror ${flag} ${JSON.stringify(value)} is invalid: ${why}`);

const DURATION_RE = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d|w|y))+$/;
const DOT_DATE_RE = /^(\d{4})\.(\d{2})\.(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;
const BYTES_RE = /^(?:\d+(?:\.\d+)?)(?:[kmgtpe]i?b?|b)?$/i;
const STORAGE_CLASS_RE = /^[A-Z_]+$/;

/** True when y-m-d h:mi:s is a real calendar time (no 2024-02-30, no 25:00). */
function isRealTime(y: string, mo: string, d: string, h = '0', mi = '0', s = '0'): boolean {
  const [Y, M, D, H, Mi, S] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  if (M < 1 || M > 12 || D < 1 || H > 23 || Mi > 59 || S > 59) return false;
  return new Date(Date.UTC(Y, M - 1, D)).getUTCDate() === D;
}

/** mc's `--newer-than`/`--older-than` forms: a duration (`7d10h`) or a date. */
export function isMcTimeFilter(value: string): boolean {
  if (DURATION_RE.test(value)) return true;
  const dot = DOT_DATE_RE.exec(value);
  if (dot) return isRealTime(dot[1]!, dot[2]!, dot[3]!, dot[4], dot[5], dot[6]);
  const rfc = RFC3339_RE.exec(value);
  if (rfc) return isRealTime(rfc[1]!, rfc[2]!, rfc[3]!, rfc[4], rfc[5], rfc[6]) && Number(rfc[7] ?? 0) <= 23 && Number(rfc[8] ?? 0) <= 59;
  return false;
}

/** Checks everything that does not depend on the mc release; throws S3MIG_CONFIG_INVALID naming the flag. */
export function validateMirrorFlags(source: string, dest: string, flags: MirrorFlags): void {
  for (const [name, v] of [['source', source], ['target', dest]] as const) {
    if (typeof v !== 'string' || v === '') throw new S3migError('S3MIG_CONFIG_INVALID', `mirror ${name} is empty`);
    // Aliases are alias/bucket/prefix and never start with "-": refuse what mc would read as a flag.
    if (v.startsWith('-')) throw new S3migError('S3MIG_CONFIG_INVALID', `mirror ${name} ${JSON.stringify(v)} is invalid: it starts with "-" and would be read as a flag`);
    if (v.includes('\0')) throw new S3migError('S3MIG_CONFIG_INVALID', `mirror ${name} ${JSON.stringify(v)} is invalid: it contains a NUL byte`);
  }
  for (const p of flags.exclude ?? []) {
    if (typeof p !== 'string' || p === '') throw invalid('--exclude', p, 'a pattern must not be empty');
    if (p.includes('\0')) throw invalid('--exclude', p, 'it contains a NUL byte');
  }
  for (const [flag, v] of [['--newer-than', flags.newerThan], ['--older-than', flags.olderThan]] as const) {
    if (v !== undefined && !isMcTimeFilter(v)) {
      throw invalid(flag, v, 'expected a duration like 7d10h (units ns us ms s m h d w y) or a date 2006.01.02[T15:04[:05]] or RFC3339');
    }
  }
  if (flags.limitUpload !== undefined) {
    if (!BYTES_RE.test(flags.limitUpload)) throw invalid('--limit-upload', flags.limitUpload, 'expected bytes per second like 10MiB, 512KiB or 1GB');
    if (Number.parseFloat(flags.limitUpload) <= 0) throw invalid('--limit-upload', flags.limitUpload, 'must be more than 0');
  }
  if (flags.storageClass !== undefined && !STORAGE_CLASS_RE.test(flags.storageClass)) {
    throw invalid('--storage-class', flags.storageClass, 'expected upper-case letters and underscores, like STANDARD_IA');
  }
  if (flags.maxWorkers !== undefined && (!Number.isSafeInteger(flags.maxWorkers) || flags.maxWorkers < 1)) {
    throw invalid('--max-workers', flags.maxWorkers, 'expected a whole number of at least 1');
  }
}

/** Validates, then builds the argv (after `--json --no-color`) and lists flags the installed release lacks. */
export function planMirrorArgs(source: string, dest: string, flags: MirrorFlags, release: McRelease): MirrorArgsPlan {
  validateMirrorFlags(source, dest, flags);
  const args: string[] = [];
  const dropped: MirrorDroppedFlag[] = [];
  // Global flag: before the command.
  if (flags.limitUpload !== undefined) args.push('--limit-upload', flags.limitUpload);
  args.push('mirror');
  if (flags.overwrite) args.push('--overwrite');
  if (flags.remove) args.push('--remove');
  // `=` keeps a pattern that starts with "-" from being read as a flag.
  for (const p of flags.exclude ?? []) args.push(`--exclude=${p}`);
  if (flags.newerThan !== undefined) args.push('--newer-than', flags.newerThan);
  if (flags.olderThan !== undefined) args.push('--older-than', flags.olderThan);
  if (flags.storageClass !== undefined) args.push('--storage-class', flags.storageClass);
  if (flags.preserve) args.push('--preserve');
  // --retry (2023-10), --skip-errors and --summary (2024-01) predate our minimum release.
  if (flags.retry) args.push('--retry');
  if (flags.skipErrors) args.push('--skip-errors');
  if (flags.summaryOnly) args.push('--summary');
  if (flags.maxWorkers !== undefined) {
    const since = parseMcRelease(MAX_WORKERS_SINCE)!;
    if (release.date.getTime() >= since.date.getTime()) {
      args.push('--max-workers', String(flags.maxWorkers));
    } else {
      dropped.push({
        flag: '--max-workers',
        value: String(flags.maxWorkers),
        reason: `needs mc ${MAX_WORKERS_SINCE} or newer; installed ${release.release}`,
      });
    }
  }
  args.push(source, dest);
  return { args, dropped };
}

/** The argv for `mc mirror` (see planMirrorArgs); `onDropped` hears of each flag the release cannot take. */
export function mirrorArgs(
  source: string,
  dest: string,
  flags: MirrorFlags,
  release: McRelease,
  onDropped?: (d: MirrorDroppedFlag) => void,
): string[] {
  const plan = planMirrorArgs(source, dest, flags, release);
  if (onDropped) for (const d of plan.dropped) onDropped(d);
  return plan.args;
}

/** One line for a dropped flag: "--max-workers 8 dropped: needs mc RELEASE.2025-07-16 or newer; installed …". */
export function describeDroppedFlag(d: MirrorDroppedFlag): string {
  return `${d.flag} ${d.value} dropped: ${d.reason}`;
}

/** mirror's non-fatal skip of a differing object without --overwrite (§3): not a failure. */
export function isOverwriteNotAllowed(e: McErrorMessage): boolean {
  return e.message.startsWith('Failed to perform mirroring') && /Overwrite not allowed/.test(e.causeMessage ?? '');
}

/** A listing error that ends mirror's comparison early with exit 0 (§3). */
export function isListingStopped(e: McErrorMessage): boolean {
  return e.message.startsWith('Unable to list comparison');
}

/**
 * Counters of a running mirror. mc prints a copy line when a transfer STARTS (§3), so `started*` are not
 * completed transfers; nothing in mc's output says an object finished.
 */
export interface MirrorProgress {
  /** Copy lines seen: transfers begun, not finished. */
  startedObjects: number;
  /** Sum of their sizes. */
  startedBytes: number;
  /** Removal lines (--remove), printed after the delete. */
  removedObjects: number;
  /** Retry lines (--retry). */
  retries: number;
  /** Error objects that fail the run. */
  errors: number;
  /** Differing objects left alone without --overwrite ("Overwrite not allowed"). */
  overwriteSkipped: number;
  /** mc's running queued count (largest totalCount seen: lines arrive unordered). */
  queuedObjects: number;
  /** mc's running queued bytes (largest totalSize seen). */
  queuedBytes: number;
  /** True only on the last report, after mc exited. */
  done: boolean;
}

export interface MirrorKeyError {
  /** Relative to the base's prefix, when the URL is under sourceBase (copy) or destBase (overwrite, remove). */
  key?: string;
  /** The endpoint-form URL mc named, when it named one. */
  url?: string;
  message: string;
  cause?: string;
  kind: 'overwrite-not-allowed' | 'copy-failed' | 'other';
}

export interface MirrorResult {
  ok: boolean;
  /** Our abort, or exit 130/143. */
  interrupted: boolean;
  exitCode: number | undefined;
  signal?: string;
  /** The release that ran. */
  release: string;
  summary?: McSummaryMessage;
  /** The final counters (done: true). */
  progress: MirrorProgress;
  /** The first MAX_KEPT_ERRORS errors that fail the run (overwrite skips excluded). */
  keyErrors: MirrorKeyError[];
  /** The first MAX_KEPT_ERRORS overwrite-not-allowed skips. */
  overwriteSkips: MirrorKeyError[];
  /** One line when !ok. */
  failure?: string;
  /** One line per requested flag the installed mc could not take (see describeDroppedFlag). */
  droppedFlags: string[];
  /** The last 16 KiB of mc's stderr. */
  stderrTail: string;
}

export interface RunMirrorOptions {
  source: string;
  dest: string;
  flags: MirrorFlags;
  env?: Record<string, string>;
  mcPath?: string;
  /** mc's global flags before everything else (e.g. --insecure, from the job's McContext). */
  globalFlags?: string[];
  signal?: AbortSignal;
  graceMs?: number;
  onProgress?: (p: MirrorProgress) => void;
  onKeyError?: (e: MirrorKeyError) => void;
  /** Hears of each dropped flag before mc starts. */
  onDroppedFlag?: (note: string) => void;
  /** Default 250 ms; a final report always follows the run. */
  progressIntervalMs?: number;
  /** To attribute ``Failed to copy `URL` `` errors (source URLs) to keys. */
  sourceBase?: McUrlBase;
  /** To attribute overwrite-not-allowed and remove errors (target URLs) to keys. */
  destBase?: McUrlBase;
}

/** The URL inside the first backticks, up to the backtick before a known ending (keys may hold backticks). */
function backticked(text: string, ending: RegExp): string | undefined {
  const start = text.indexOf('`');
  if (start === -1) return undefined;
  const rest = text.slice(start + 1);
  const m = ending.exec(rest);
  const end = m ? m.index : rest.indexOf('`');
  return end === -1 ? undefined : rest.slice(0, end);
}

const attribute = (url: string | undefined, ...bases: (McUrlBase | undefined)[]): string | undefined => {
  if (url === undefined) return undefined;
  for (const b of bases) {
    const key = b ? keyOfMcUrl(url, b) : undefined;
    if (key !== undefined) return key;
  }
  return undefined;
};

/** Classifies one mc error object and attributes it to a key when it names one under a base. */
export function toMirrorKeyError(e: McErrorMessage, sourceBase?: McUrlBase, destBase?: McUrlBase): MirrorKeyError {
  let kind: MirrorKeyError['kind'] = 'other';
  let url: string | undefined;
  let key: string | undefined;
  if (isOverwriteNotAllowed(e)) {
    kind = 'overwrite-not-allowed';
    url = backticked(e.causeMessage ?? '', /`\. Use `--overwrite`/);
    key = attribute(url, destBase);
  } else if (e.message.startsWith('Failed to copy `')) {
    kind = 'copy-failed';
    url = backticked(e.message, /`\.?$/);
    key = attribute(url, sourceBase);
  } else if (e.message.startsWith('Failed to remove `')) {
    url = backticked(e.message, /`\.?$/);
    key = attribute(url, destBase);
  } else {
    const candidate = backticked(e.message, /`/);
    if (candidate !== undefined && URL_RE.test(candidate)) {
      url = candidate;
      key = attribute(url, sourceBase, destBase);
    }
  }
  const out: MirrorKeyError = { message: e.message, kind };
  if (key !== undefined) out.key = key;
  if (url !== undefined) out.url = url;
  if (e.causeMessage !== undefined) out.cause = e.causeMessage;
  return out;
}

const flat = (s: string, max = 300): string => {
  const one = s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

const errorText = (e: McErrorMessage): string => flat(e.causeMessage ? `${e.message} (${e.causeMessage})` : e.message);

function describeFailure(r: McRunResult): string | undefined {
  if (r.ok) return undefined;
  const first = r.errors[0] ? `: ${errorText(r.errors[0])}` : '';
  if (r.interrupted) return `mc mirror was interrupted (${r.signal ?? `exit ${r.exitCode}`})`;
  if (r.signal) return `mc mirror was killed by ${r.signal}${first}`;
  if (r.exitCode !== 0) {
    if (r.errorCount > 0) return `mc mirror exited ${r.exitCode} after ${r.errorCount} error(s)${first}`;
    const tail = r.stderrTail.split('\n').map((l) => l.trim()).filter((l) => l !== '').pop();
    return `mc mirror exited ${r.exitCode}${tail ? `: ${flat(tail)}` : ''}`;
  }
  if (r.errorCount > 0) {
    const listing = r.errors.find(isListingStopped);
    if (listing) return `mc mirror stopped comparing early on a listing error but exited 0: ${errorText(listing)}`;
    return r.errorCount === 1
      ? `mc mirror printed an error object but exited 0${first}`
      : `mc mirror printed ${r.errorCount} error objects but exited 0${first}`;
  }
  if (!r.sawSummary) return 'mc mirror ended without its summary line';
  return `mc mirror failed (exit ${r.exitCode})`;
}

/**
 * Runs `mc mirror` once. Rejects on bad flags (S3MIG_CONFIG_INVALID), an unusable mc (S3MIG_TARGET_UNSUPPORTED)
 * or a throwing callback (after stopping mc); every run outcome resolves, with `ok` read as mc-json.md says.
 */
export async function runMirror(opts: RunMirrorOptions): Promise<MirrorResult> {
  validateMirrorFlags(opts.source, opts.dest, opts.flags);
  const mcPath = opts.mcPath ?? 'mc';
  const release = checkMcVersion((await mcVersion(mcPath)).release);
  const plan = planMirrorArgs(opts.source, opts.dest, opts.flags, release);
  const droppedFlags = plan.dropped.map(describeDroppedFlag);
  // Before mc starts: a throw here simply rejects.
  if (opts.onDroppedFlag) for (const note of droppedFlags) opts.onDroppedFlag(note);

  // Our own controller: a throwing callback stops mc too.
  const ac = linkedAbort(opts.signal);

  let failed = false;
  let callbackError: unknown;
  const guard = (fn: () => void): void => {
    if (failed) return;
    try {
      fn();
    } catch (err) {
      failed = true;
      callbackError = err;
      ac.abort(err);
    }
  };

  const p: MirrorProgress = {
    startedObjects: 0,
    startedBytes: 0,
    removedObjects: 0,
    retries: 0,
    errors: 0,
    overwriteSkipped: 0,
    queuedObjects: 0,
    queuedBytes: 0,
    done: false,
  };
  const keyErrors: MirrorKeyError[] = [];
  const overwriteSkips: MirrorKeyError[] = [];
  let summary: McSummaryMessage | undefined;

  const interval = opts.progressIntervalMs ?? 250;
  let lastEmit = 0;
  let timer: NodeJS.Timeout | undefined;
  const emit = (done: boolean): void => {
    lastEmit = Date.now();
    if (opts.onProgress) guard(() => opts.onProgress!({ ...p, done }));
  };
  const schedule = (): void => {
    if (!opts.onProgress || timer !== undefined) return;
    const wait = lastEmit + interval - Date.now();
    if (wait <= 0) {
      emit(false);
    } else {
      timer = setTimeout(() => {
        timer = undefined;
        emit(false);
      }, wait);
      timer.unref();
    }
  };

  const onMessage = (m: McMessage | McTextLine): void => {
    switch (m.type) {
      case 'mirror':
        if (m.kind === 'removal' || (m.kind === 'event' && m.eventType.startsWith('s3:ObjectRemoved'))) {
          p.removedObjects++;
        } else {
          p.startedObjects++;
          p.startedBytes += m.size;
        }
        p.queuedObjects = Math.max(p.queuedObjects, m.totalCount);
        p.queuedBytes = Math.max(p.queuedBytes, m.totalSize);
        break;
      case 'retry':
        p.retries++;
        break;
      case 'summary':
        summary = m;
        break;
      case 'error': {
        const ke = toMirrorKeyError(m, opts.sourceBase, opts.destBase);
        if (ke.kind === 'overwrite-not-allowed') {
          p.overwriteSkipped++;
          if (overwriteSkips.length < MAX_KEPT_ERRORS) overwriteSkips.push(ke);
        } else {
          p.errors++;
          if (keyErrors.length < MAX_KEPT_ERRORS) keyErrors.push(ke);
        }
        if (opts.onKeyError) guard(() => opts.onKeyError!(ke));
        break;
      }
      default:
        return; // text and other shapes change no counter
    }
    schedule();
  };

  let r: McRunResult;
  try {
    r = await runMc([...(opts.globalFlags ?? []), ...plan.args], {
      mcPath,
      signal: ac.signal,
      onMessage,
      expectSummary: true,
      isExpectedError: isOverwriteNotAllowed,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    ac.dispose();
  }
  emit(true);
  if (failed) throw callbackError;

  const failure = describeFailure(r);
  const result: MirrorResult = {
    ok: r.ok,
    interrupted: r.interrupted,
    exitCode: r.exitCode,
    release: release.release,
    progress: { ...p, done: true },
    keyErrors,
    overwriteSkips,
    droppedFlags,
    stderrTail: r.stderrTail,
  };
  if (r.signal) result.signal = r.signal;
  if (summary) result.summary = summary;
  if (failure !== undefined) result.failure = failure;
  return result;
}
