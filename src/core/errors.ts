// Typed errors with stable S3MIG_* codes: the CLI turns them into one-line messages and exit codes.
import { setMaxListeners } from 'node:events';

export type ErrorCode =
  | 'S3MIG_USAGE'
  | 'S3MIG_TARGET_INVALID'
  | 'S3MIG_TARGET_UNSUPPORTED'
  | 'S3MIG_INVENTORY_UNREADABLE'
  | 'S3MIG_INVENTORY_PARSE'
  | 'S3MIG_LISTING_INCOMPLETE'
  | 'S3MIG_SOURCE_UNORDERED'
  | 'S3MIG_JOB_UNKNOWN'
  | 'S3MIG_JOB_NOT_RESUMABLE'
  | 'S3MIG_JOB_NOT_RUNNING'
  | 'S3MIG_SCHEDULE_UNKNOWN'
  | 'S3MIG_STATE_LOCKED'
  | 'S3MIG_INPUT_CHANGED'
  | 'S3MIG_DISK_FULL'
  | 'S3MIG_PAUSED'
  | 'S3MIG_STATE_UNREADABLE'
  | 'S3MIG_REPORT_WRITE'
  | 'S3MIG_CANCELED'
  | 'S3MIG_ALIAS_UNKNOWN'
  | 'S3MIG_CONFIG_INVALID'
  | 'S3MIG_ENDPOINT_UNREACHABLE'
  | 'S3MIG_CREDENTIALS_REJECTED'
  | 'S3MIG_BUCKET_MISSING'
  | 'S3MIG_ACCESS_DENIED'
  | 'S3MIG_S3_REQUEST'
  | 'S3MIG_COPY_FAILED'
  | 'S3MIG_TARGET_CHANGED'
  | 'S3MIG_MC_FAILED';

/** An error an operator can act on: its message is one line and names the thing at fault. */
export class S3migError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3migError';
    this.code = code;
  }
}

export function isS3migError(err: unknown): err is S3migError {
  return err instanceof S3migError;
}

/**
 * Throws when the signal has fired: its reason when that is an S3migError (S3MIG_PAUSED for a stop
 * signal, say), else the canonical S3MIG_CANCELED.
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    if (signal.reason instanceof S3migError) throw signal.reason;
    throw new S3migError('S3MIG_CANCELED', 'canceled', { cause: signal.reason });
  }
}

/**
 * A signal that follows `signal` except for a pause (an S3MIG_PAUSED reason): work in flight, such as a
 * copy, finishes on a pause and is recorded; it stops at once on a cancel or any other abort.
 */
export function untilCanceled(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  return linkedAbort(signal, (reason) => !(reason instanceof S3migError && reason.code === 'S3MIG_PAUSED')).signal;
}

export interface LinkedAbort {
  signal: AbortSignal;
  abort(reason: unknown): void;
  /** Stops following the outer signal. */
  dispose(): void;
}

/**
 * An abort controller of its own that also aborts, with the same reason, when `outer` does (and `when`
 * agrees). Any number of requests may listen on its signal: a job has many in flight by design.
 */
export function linkedAbort(outer: AbortSignal | undefined, when: (reason: unknown) => boolean = () => true): LinkedAbort {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const follow = () => {
    if (when(outer!.reason)) ac.abort(outer!.reason);
  };
  if (outer?.aborted) follow();
  else outer?.addEventListener('abort', follow, { once: true });
  return { signal: ac.signal, abort: (reason) => ac.abort(reason), dispose: () => outer?.removeEventListener('abort', follow) };
}

/** A full disk, whichever layer met it (fs, LevelDB's IO error text, a failpoint). */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || /ENOSPC|No space left on device/i.test(String((e as Error).message))) return true;
  }
  return false;
}

/** The message of any thrown value, flattened to one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
