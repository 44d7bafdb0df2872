// Webhook notifications: a JSON POST retried with backoff and full jitter, never thrown, never awaited by a job.
import { oneLine } from '../core/errors.ts';

export interface PostOptions {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** The backoff's base: try n waits a random time up to baseDelayMs * 2^(n-1), capped at 60 s (default 500). */
  baseDelayMs?: number;
  /** One try's limit, from the request to the response's headers (default 10 s). */
  timeoutMs?: number;
  /** How to wait between tries (tests inject one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
  /** Stops the tries (a request in flight is aborted, no further try is made). */
  signal?: AbortSignal;
  /** In [0, 1): the jitter (default Math.random). */
  random?: () => number;
}

export interface PostResult {
  /** A 2xx answer. */
  ok: boolean;
  /** Requests made. */
  attempts: number;
  /** The last answer's HTTP status. */
  status?: number;
  /** Why it failed, in one line, without the URL's query string. */
  error?: string;
}

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BASE_DELAY_MS = 500;
export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_DELAY_MS = 60_000;

/**
 * The URL as messages may show it: scheme, host and path. The query string and fragment (which may hold a
 * token) and any user:password are left out.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search || u.hash ? '?…' : ''}`;
  } catch {
    return '(not a valid URL)';
  }
}

/** Whether a status is worth another try: server errors, request timeout, too many requests. */
function retryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The network error's most telling part (ECONNREFUSED, a timeout), never the URL's query. */
function describeFailure(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  return oneLine(cause?.message ? cause.message : err);
}

/**
 * POSTs `body` as JSON to `url`. 2xx is success; 4xx other than 408 and 429 fails at once; 5xx, 408, 429 and
 * network errors are tried again (up to `attempts` in all) after exponential backoff with full jitter.
 * Never throws.
 */
export async function postSummary(url: string, body: object, options: PostOptions = {}): Promise<PostResult> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_ATTEMPTS);
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const random = options.random ?? Math.random;
  const signal = options.signal;
  const sleep = options.sleep ?? ((ms: number) => defaultSleep(ms, signal));
  const where = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    return { ok: false, attempts: 0, error: `the webhook ${where} is not an http(s) URL` };
  }
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (err) {
    return { ok: false, attempts: 0, error: `the notification cannot be written as JSON: ${oneLine(err)}` };
  }
  let last: PostResult = { ok: false, attempts: 0 };
  for (let n = 1; n <= attempts; n++) {
    if (signal?.aborted) return { ...last, ok: false, error: `POST ${where}: stopped after ${n - 1} attempt(s)` };
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, timeoutMs);
    const stop = () => ac.abort();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      const res = await fetch(parsed, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 's3mig' },
        body: text,
        signal: ac.signal,
        redirect: 'manual',
      });
      // The answer's body is not needed; dropping it frees the connection.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: n, status: res.status };
      last = { ok: false, attempts: n, status: res.status, error: `POST ${where}: HTTP ${res.status}` };
      if (!retryable(res.status)) return last;
    } catch (err) {
      const why = signal?.aborted ? 'stopped' : describeFailure(err, timedOut, timeoutMs);
      last = { ok: false, attempts: n, error: `POST ${where}: ${why}` };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
    if (n < attempts && !signal?.aborted) await sleep(Math.floor(random() * Math.min(MAX_DELAY_MS, base * 2 ** (n - 1))));
  }
  return last;
}

/**
 * Starts postSummary and returns at once, so that a job never waits for a webhook; `onResult` hears how it
 * ended. The returned promise (never rejected) is for whoever wants to wait: tests, a stop.
 */
export function notifyInBackground(url: string, body: object, options: PostOptions & { onResult?: (result: PostResult) => void } = {}): Promise<PostResult> {
  const { onResult, ...post } = options;
  return postSummary(url, body, post).then(
    (result) => {
      try {
        onResult?.(result);
      } catch {
        // The listener's failure is its own.
      }
      return result;
    },
    // postSummary does not throw; this is for safety.
    (err: unknown): PostResult => ({ ok: false, attempts: 0, error: oneLine(err) }),
  );
}
