// Upload rate limits: mc's humanized rates parsed and formatted, and a token bucket on an injected clock.
import { S3migError } from './errors.ts';

/** Multipliers of go-humanize's ParseBytes (what mc's --limit-upload reads), lower case, without the `/s`. */
const UNITS: Record<string, number> = (() => {
  const out: Record<string, number> = { '': 1, b: 1 };
  for (const [i, p] of ['k', 'm', 'g', 't', 'p'].entries()) {
    out[p] = out[`${p}b`] = 1000 ** (i + 1);
    out[`${p}i`] = out[`${p}ib`] = 1024 ** (i + 1);
  }
  return out;
})();

const RATE_RE = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)(?:\/s)?$/i;

/**
 * Bytes per second from mc's humanized form, case-insensitive with an optional `/s`: `1048576`, `100B`,
 * `512KiB`, `10MiB`, `1.5GiB` (1024-based) or `64k`, `10MB`, `1GB`, `1TB` (1000-based); `10MiB` ≠ `10MB`.
 * Anything else, or less than 1 byte per second, throws S3MIG_USAGE naming the value.
 */
export function parseRate(text: string, flag = '--limit-upload'): number {
  const m = RATE_RE.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : Number.NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) {
    throw new S3migError(
      'S3MIG_USAGE',
      `${flag} ${JSON.stringify(text)} is not a rate: expected bytes per second of at least 1, like 10MiB, 512KiB, 1GB or 1048576 (KiB, MiB, GiB, TiB count 1024s; KB, MB, GB, TB 1000s)`,
    );
  }
  return bytes;
}

/** A rate as mc's `--limit-upload` takes it: the largest exact binary unit (`10MiB`, `1536KiB`), else bytes (`10000000B`). */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isSafeInteger(bytesPerSecond) || bytesPerSecond < 1) throw new RangeError(`not a rate in bytes per second: ${bytesPerSecond}`);
  for (const [unit, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytesPerSecond % size === 0) return `${bytesPerSecond / size}${unit}`;
  }
  return `${bytesPerSecond}B`;
}

/** Time for a token bucket: milliseconds, and an abortable wait. */
export interface LimiterClock {
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * A token bucket of bytes shared by any number of takers. It starts empty and fills at `rate` bytes per
 * second up to `burst` bytes (default: one second's worth), so N bytes from a standing start take N/rate
 * seconds, and after an idle spell up to `burst` bytes pass at once. A take larger than what the bucket
 * holds is never refused: it reserves the bytes (the bucket goes into debt) and waits until the debt is
 * paid, so concurrent takers queue in the order they asked and together never exceed the rate.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens = 0;
  private last: number;
  private takenBytes = 0;

  constructor(rate: number, private readonly clock: LimiterClock, burst: number = rate) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`token bucket rate must be a positive number, not ${rate}`);
    if (!(burst > 0) || !Number.isFinite(burst)) throw new RangeError(`token bucket burst must be a positive number, not ${burst}`);
    this.rate = rate;
    this.burst = burst;
    this.last = clock.now();
  }

  /** Bytes taken so far (an aborted take gives its bytes back). */
  get taken(): number {
    return this.takenBytes;
  }

  /** Waits until `n` bytes may pass. An abort while waiting rejects with the signal's reason and returns the bytes. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    if (!(n > 0)) return;
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.tokens -= n;
    this.takenBytes += n;
    if (this.tokens >= 0) return;
    try {
      await this.clock.sleep((-this.tokens * 1000) / this.rate, signal);
    } catch (err) {
      this.tokens += n;
      this.takenBytes -= n;
      throw err;
    }
  }
}
