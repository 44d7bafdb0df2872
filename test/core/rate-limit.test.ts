// Tests for src/core/rate-limit.ts (parseRate, formatRate, TokenBucket on an injected clock) and the stream
// wrapper of src/s3/throttle.ts on the same clock: time is virtual, so every duration is exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TokenBucket, formatRate, parseRate, type LimiterClock } from '../../src/core/rate-limit.ts';
import { S3migError } from '../../src/core/errors.ts';
import { throttle } from '../../src/s3/throttle.ts';

/**
 * Virtual time: sleeps wait in a queue; `run` lets everything that can run settle (every microtask and
 * nextTick, one event-loop turn), then jumps to the earliest sleep and wakes it, until the promise settles.
 */
class VirtualClock implements LimiterClock {
  t = 0;
  private seq = 0;
  private readonly sleepers: { at: number; seq: number; wake: () => void }[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = { at: this.t + ms, seq: this.seq++, wake: () => resolve() };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.sleepers.indexOf(sleeper);
          if (i !== -1) this.sleepers.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** Lets what can run settle, without moving time. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  }

  async run<T>(p: Promise<T>): Promise<T> {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      await this.settle();
      if (settled) return p;
      this.sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.sleepers.shift();
      if (!next) throw new Error('deadlock: nothing sleeps and the promise has not settled');
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }

  /** Idle time passes. */
  advance(ms: number): void {
    this.t += ms;
  }
}

const KiB = 1024;
const MiB = 1024 * KiB;

test('parseRate reads mc humanized rates: 1024-based KiB/MiB/GiB/TiB, 1000-based k/KB/MB/GB/TB, any case, optional /s', () => {
  const table: [string, number][] = [
    ['1048576', 1048576],
    ['1', 1],
    ['100B', 100],
    ['100b', 100],
    ['512KiB', 512 * KiB],
    ['512kib', 512 * KiB],
    ['512Ki', 512 * KiB],
    ['64k', 64_000],
    ['64KB', 64_000],
    ['10MiB', 10 * MiB],
    ['10mib', 10 * MiB],
    ['10MiB/s', 10 * MiB],
    ['10MB', 10_000_000],
    ['10m', 10_000_000],
    ['10MB/S', 10_000_000],
    ['1GiB', 1024 * MiB],
    ['1GB', 1_000_000_000],
    ['1.5GiB', 1.5 * 1024 * MiB],
    ['1TiB', 1024 * 1024 * MiB],
    ['1TB', 1e12],
    ['2 MiB', 2 * MiB],
    [' 3MiB ', 3 * MiB],
    ['.5KiB', 512],
    ['1.0001KiB', 1024],
  ];
  for (const [text, want] of table) assert.equal(parseRate(text), want, text);
  // MiB is not MB.
  assert.notEqual(parseRate('10MiB'), parseRate('10MB'));
});

test('parseRate refuses anything else with one S3MIG_USAGE line naming the value', () => {
  const bad = ['', ' ', 'fast', '0', '0MiB', '0.5', '0.9B', '-1MiB', '+1MiB', '10MiBs', '10MiB/sec', '10 MiB per second', '1e6', 'MiB', '10XB', '10iB', '10KBi', 'Infinity', 'NaN', '10MiB/s/s', '1,000', '9999999PiB', '0x10'];
  for (const text of bad) {
    assert.throws(
      () => parseRate(text),
      (err: unknown) => {
        assert.ok(err instanceof S3migError, String(err));
        assert.equal(err.code, 'S3MIG_USAGE');
        assert.ok(err.message.startsWith(`--limit-upload ${JSON.stringify(text)} is not a rate`), err.message);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      },
      text,
    );
  }
  assert.throws(() => parseRate('x', '--rate'), /^S3migError: --rate "x" is not a rate/);
});

test('formatRate gives the largest exact binary unit, else bytes, and parseRate reads it back', () => {
  const table: [number, string][] = [
    [10 * MiB, '10MiB'],
    [512 * KiB, '512KiB'],
    [1536 * KiB, '1536KiB'],
    [1024 * MiB, '1GiB'],
    [3 * 1024 * 1024 * MiB, '3TiB'],
    [10_000_000, '10000000B'],
    [1000, '1000B'],
    [1, '1B'],
  ];
  for (const [n, want] of table) {
    assert.equal(formatRate(n), want, String(n));
    assert.equal(parseRate(want), n, want);
  }
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => formatRate(bad), RangeError, String(bad));
});

test('TokenBucket: N bytes at R bytes/s take N/R seconds of (virtual) time from a standing start', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(1024, clock);
  await clock.run(
    (async () => {
      for (let i = 0; i < 20; i++) await bucket.take(256);
    })(),
  );
  assert.equal(clock.t, 5000, '5120 bytes at 1024 B/s');
  assert.equal(bucket.taken, 5120);
  // One take larger than the bucket is not refused: it waits its whole time.
  const start = clock.t;
  await clock.run(bucket.take(10 * 1024));
  assert.equal(clock.t - start, 10_000);
});

test('TokenBucket: after an idle spell up to the bucket size passes at once, and no more', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(1024, clock);
  assert.equal(bucket.burst, 1024, 'one second by default');
  clock.advance(60_000);
  await clock.run(bucket.take(1024));
  assert.equal(clock.t, 60_000, 'the burst passes without waiting');
  await clock.run(bucket.take(512));
  assert.equal(clock.t, 60_500, 'then the rate again');

  // A bigger bucket bursts more, but never more than its size however long the idle spell.
  const big = new TokenBucket(1024, clock, 4096);
  clock.advance(3_600_000);
  const t0 = clock.t;
  await clock.run(big.take(4096));
  assert.equal(clock.t, t0);
  await clock.run(big.take(3 * 1024));
  assert.equal(clock.t, t0 + 3000, 'the idle hour saved 4096 bytes, not an hour of them');
});

test('TokenBucket: concurrent takers share the rate, served in the order they asked', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(1024, clock);
  const finished: number[] = [];
  const taker = async () => {
    for (let i = 0; i < 10; i++) await bucket.take(256);
    finished.push(clock.now());
  };
  await clock.run(Promise.all([taker(), taker(), taker(), taker()]));
  assert.equal(bucket.taken, 4 * 10 * 256);
  // 10,240 bytes at 1024 B/s: 10 s in all; each taker gets a quarter of the rate, none finishes early.
  assert.deepEqual(finished, [9250, 9500, 9750, 10_000]);
});

test('TokenBucket: an abort while waiting rejects with the reason and gives the bytes back', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(1024, clock);
  const ac = new AbortController();
  const waiting = bucket.take(4096, ac.signal);
  await clock.settle();
  ac.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
  assert.equal(bucket.taken, 0);
  assert.equal(clock.t, 0);
  await clock.run(bucket.take(1024));
  assert.equal(clock.t, 1000, 'the aborted 4096 bytes are not owed');
  await assert.rejects(bucket.take(1, ac.signal), /stop/, 'an aborted signal refuses at once');
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => new TokenBucket(bad, clock), RangeError);
  assert.throws(() => new TokenBucket(1, clock, 0), RangeError);
});

test('throttle: the body passes whole at the rate, and the source is read only a little ahead', async () => {
  const clock = new VirtualClock();
  const bucket = new TokenBucket(8 * KiB, clock);
  let produced = 0;
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < 64; i++) {
        produced++;
        yield Buffer.alloc(KiB, i);
      }
    })(),
    { objectMode: false },
  );
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      received.push(chunk);
      done();
    },
  });
  const piping = pipeline(throttle(source, bucket), sink);
  await clock.settle();
  // Nothing has passed (the bucket starts empty), and only the streams' small buffers were read.
  assert.equal(received.length, 0);
  assert.ok(produced < 40, `read ${produced} of 64 KiB ahead of an empty bucket`);
  await clock.run(piping);
  assert.equal(clock.t, 8000, '64 KiB at 8 KiB/s');
  assert.equal(bucket.taken, 64 * KiB);
  const all = Buffer.concat(received);
  assert.equal(all.length, 64 * KiB);
  for (let i = 0; i < 64; i++) assert.equal(all[i * KiB], i);
});
