// What the two live listers share (live-ingest.ts: key ranges over the S3 API; mc-ingest.ts: first-level
// folders through mc): progress per side over units of work, a pool of workers over the unfinished
// units that stops them all on the first hard failure, and the side's final checkpoint with its gaps.
import { linkedAbort, type LinkedAbort } from '../core/errors.ts';
import type { KeyGap } from '../core/fix-plan.ts';
import { RateMeter } from '../core/rate.ts';
import type { SideName } from '../core/summary.ts';
import type { SideDb } from '../store/side-db.ts';
import type { EventInput } from './events.ts';
import { INGEST_CHECKPOINT_KEY, PROGRESS_INTERVAL_MS, type IngestCheckpoint } from './ingest.ts';

export interface UnitsSnapshot {
  entries: number;
  bytes: number;
  unitsDone: number;
  unitsTotal: number;
}

/** inventory:progress events of a side listed in units (ranges, folders), at most every PROGRESS_INTERVAL_MS. */
export class UnitProgress {
  private readonly meter = new RateMeter();
  private lastEmit = 0;

  constructor(
    private readonly side: SideName,
    private readonly emit: (e: EventInput) => void,
    private readonly snapshot: () => UnitsSnapshot,
  ) {}

  /** Where the rate starts from (entries already stored by an earlier run). */
  start(stored: number): void {
    this.meter.sample(stored, Date.now());
  }

  report(done: boolean): void {
    const s = this.snapshot();
    this.lastEmit = Date.now();
    this.emit({
      type: 'inventory:progress',
      side: this.side,
      entries: s.entries,
      bytes: s.bytes,
      rate: Math.round(this.meter.sample(s.entries, this.lastEmit)),
      inputBytes: 0,
      totalBytes: 0,
      rangesDone: s.unitsDone,
      rangesTotal: s.unitsTotal,
      done,
    });
  }

  /** Reports unless it did so a moment ago. */
  tick(): void {
    if (Date.now() - this.lastEmit >= PROGRESS_INTERVAL_MS) this.report(false);
  }
}

/**
 * Runs `work` over the queued units with `concurrency` workers. The first hard failure aborts the
 * others (through the inner signal, so they land their batches) and is what this throws; a stop request
 * on `signal` reaches them the same way. `work` returns false to make its worker take no more units.
 */
export async function runUnits(
  queue: number[],
  concurrency: number,
  signal: AbortSignal | undefined,
  work: (unit: number, inner: LinkedAbort) => Promise<boolean>,
): Promise<void> {
  const inner = linkedAbort(signal);
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      if (!(await work(i, inner))) return;
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(1, queue.length)) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw inner.signal.aborted && !signal?.aborted && inner.signal.reason ? inner.signal.reason : failed.reason;
  } finally {
    inner.dispose();
  }
}

/** Stores the side's final checkpoint: complete unless a unit failed, whose keys are then a gap. */
export async function finishSide(db: SideDb, totals: { entries: number; bytes: number }, failures: { error: string; gap: KeyGap }[]): Promise<IngestCheckpoint> {
  const errors = failures.map((f) => f.error);
  const checkpoint: IngestCheckpoint = {
    position: { line: 0, offset: 0 },
    entries: totals.entries,
    bytes: totals.bytes,
    errors: errors.slice(0, 100),
    errorCount: errors.length,
    done: true,
    ...(failures.length > 0 ? { gaps: failures.map((f) => f.gap) } : {}),
  };
  await db.putJson(INGEST_CHECKPOINT_KEY, checkpoint);
  return checkpoint;
}
