// Retries for S3 requests: throttling, server errors, timeouts and resets, with exponential backoff and
// full jitter. The SDK's own retries are switched off (maxAttempts 1) so that this is the one layer.
import { S3migError, throwIfAborted } from '../core/errors.ts';

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** First backoff ceiling; each retry doubles it, up to maxMs. */
  baseMs: number;
  maxMs: number;
}

/** Default policy; `S3MIG_RETRY_BASE_MS` scales the backoff (tests shorten it). */
export function defaultRetryPolicy(env: NodeJS.ProcessEnv = process.env): RetryPolicy {
  const base = Number(env.S3MIG_RETRY_BASE_MS);
  return { attempts: 6, baseMs: Number.isFinite(base) && base >= 0 && env.S3MIG_RETRY_BASE_MS !== '' && env.S3MIG_RETRY_BASE_MS !== undefined ? base : 200, maxMs: 20_000 };
}

const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'TooManyRequests',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/** HTTP status of an SDK error, if it got an answer. */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** The network-level errno of an error or its causes (ECONNRESET, ECONNREFUSED, ...). */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$|^UND_ERR/.test(code)) return code;
  }
  if (/socket hang up/i.test(String((err as Error | undefined)?.message))) return 'ECONNRESET';
  return undefined;
}

/** Whether trying again may help: throttling, 5xx (not 501), timeouts, resets. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof S3migError) return false;
  const name = (err as Error | undefined)?.name ?? '';
  if (name === 'AbortError') return false;
  const status = httpStatusOf(err);
  if (status === 501) return false;
  if (RETRYABLE_CODES.has(name) || RETRYABLE_CODES.has((err as { Code?: string }).Code ?? '')) return true;
  if (status !== undefined && (status === 429 || status >= 500)) return true;
  const errno = errnoOf(err);
  return errno !== undefined && RETRYABLE_ERRNO.has(errno);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  policy: RetryPolicy;
  signal?: AbortSignal;
  /** Called before each backoff, e.g. to log or count retries. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or has used every attempt. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt);
    } catch (err) {
      throwIfAborted(signal);
      if (attempt >= policy.attempts || !isRetryable(err)) throw err;
      const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      const delay = Math.round(Math.random() * ceiling);
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, signal).catch(() => throwIfAborted(signal));
    }
  }
}
