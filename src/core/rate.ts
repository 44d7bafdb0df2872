// Rates over a moving window of samples, for progress events and ETAs.

export class RateMeter {
  private readonly samples: { t: number; n: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records that the running total is `n` at time `t` (ms) and returns the rate per second. */
  sample(n: number, t: number): number {
    this.samples.push({ t, n });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = t - first.t;
    return dt > 0 ? ((n - first.n) * 1000) / dt : 0;
  }
}

/** Seconds left at `rate` per second for `remaining` units; undefined when unknown. */
export function etaSeconds(remaining: number, rate: number): number | undefined {
  if (!(rate > 0) || remaining < 0) return undefined;
  return Math.ceil(remaining / rate);
}
