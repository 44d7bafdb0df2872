// The native copier's upload limit: a real-time token bucket per job, and a stream wrapper that lets a
// body's bytes through only as the bucket allows (backpressure holds the rest in the source's socket).
import { Transform, pipeline, type Readable } from 'node:stream';
import { TokenBucket, formatRate, type LimiterClock } from '../core/rate-limit.ts';
import type { CopyMethod } from './copy.ts';
import { sleep } from './retry.ts';

/** The longest setTimeout delay; longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Wall-clock time for token buckets. */
export const realClock: LimiterClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    for (; ms > MAX_TIMER_MS; ms -= MAX_TIMER_MS) await sleep(MAX_TIMER_MS, signal);
    await sleep(ms, signal);
  },
};

/**
 * What every copy of a job shares under `--limit-upload`: one bucket, and whether the note that
 * server-side copies escape the limit was given yet.
 */
export class UploadLimiter {
  readonly bucket: TokenBucket;
  private noted = false;

  constructor(readonly bytesPerSecond: number, clock: LimiterClock = realClock) {
    this.bucket = new TokenBucket(bytesPerSecond, clock);
  }

  /**
   * After a copy: for the first server-side one, the line to log (once per job) saying that the limit
   * does not apply to it, as mc's --limit-upload has no effect on server-side copies either.
   */
  serverSideNote(method: CopyMethod): string | undefined {
    if (method === 'stream' || this.noted) return undefined;
    this.noted = true;
    return `--limit-upload ${formatRate(this.bytesPerSecond)}/s does not apply to server-side copies (CopyObject/UploadPartCopy within one endpoint: their bytes never pass through this machine); only streamed copies are limited`;
  }
}

const limiters = new WeakMap<object, UploadLimiter>();

/** The limiter of a job (any object standing for it), made on first use; undefined without a limit. */
export function uploadLimiterOf(job: object, bytesPerSecond: number | undefined): UploadLimiter | undefined {
  if (bytesPerSecond === undefined) return undefined;
  let limiter = limiters.get(job);
  if (!limiter || limiter.bytesPerSecond !== bytesPerSecond) limiters.set(job, (limiter = new UploadLimiter(bytesPerSecond)));
  return limiter;
}

/**
 * `body` with its chunks passed on only as `bucket` allows. The source is read no faster than that (the
 * wrapper's small buffer fills and the source pauses), so memory stays bounded; destroying either side
 * destroys the other, and an abort of `signal` fails the stream.
 */
export function throttle(body: Readable, bucket: TokenBucket, signal?: AbortSignal): Readable {
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bucket.take(chunk.length, signal).then(() => done(null, chunk), done);
    },
  });
  pipeline(body, out, () => undefined);
  return out;
}
