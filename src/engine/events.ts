// The typed engine events: one stream that the CLI (--json), the event log, the TUI and tests subscribe to.
import type { JobState } from '../core/job-state.ts';
import type { Strategy, TargetRecord } from '../core/job-record.ts';
import type { CategoryCounts } from '../core/tally.ts';
import type { SideName, Summary } from '../core/summary.ts';

interface Envelope {
  /** ISO time the engine emitted the event. */
  ts: string;
  jobId: string;
}

export type EngineEvent =
  | (Envelope & {
      type: 'job:created';
      source: TargetRecord;
      dest: TargetRecord;
      stateDir: string;
      jobDir: string;
      reportDir: string;
    })
  | (Envelope & { type: 'job:state'; state: JobState; previous: JobState | null; reason?: string })
  | (Envelope & {
      type: 'inventory:progress';
      side: SideName;
      /** Entries read so far (duplicates included), their bytes, and entries per second. */
      entries: number;
      bytes: number;
      rate: number;
      /** Position in the input, for a gauge: bytes read of totalBytes. */
      inputBytes: number;
      totalBytes: number;
      /** Live listings: key ranges finished and planned. */
      rangesDone?: number;
      rangesTotal?: number;
      /** The estimate of the side's entries (mc du, the count, or a file's sample), and the time left at this rate. */
      totalEntries?: number;
      etaSeconds?: number;
      done: boolean;
    })
  | (Envelope & {
      type: 'compare:progress';
      /** Keys decided so far, entries consumed of both sides, of at most totalEntries. */
      keys: number;
      entries: number;
      totalEntries: number;
      rate: number;
      etaSeconds?: number;
      counts: CategoryCounts;
      done: boolean;
    })
  | (Envelope & {
      type: 'transfer:progress';
      engine: 'native' | 'mc';
      /**
       * Objects and bytes dealt with so far, of the planned totals. Native: copies confirmed, failed or
       * settled earlier. mc: copies mc STARTED (its lines say nothing of completion), of mc's running
       * queued totals; the reconciliation confirms.
       */
      objects: number;
      totalObjects: number;
      bytes: number;
      totalBytes: number;
      /** Native: verified copies. */
      copied: number;
      /** mc: copies started. */
      started?: number;
      failed: number;
      /** Native: settled by an earlier run of the job; mc: left in place without --overwrite. */
      skipped: number;
      /** Bytes per second over a moving window, and the time left at that rate. */
      rate: number;
      etaSeconds?: number;
      done: boolean;
    })
  | (Envelope & { type: 'strategy' } & Strategy)
  | (Envelope & { type: 'report:written'; files: string[] })
  | (Envelope & {
      type: 'fix:progress';
      /** Actions seen so far and finished; copies, deletes and failures; bytes copied. */
      total: number;
      processed: number;
      copied: number;
      deleted: number;
      failed: number;
      skipped: number;
      /** mc engine: keys mc cannot address faithfully, left for `s3mig fix --engine native`. */
      leftForNative: number;
      bytes: number;
      done: boolean;
    })
  | (Envelope & { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; side?: SideName; code?: string })
  | ({ type: 'summary' } & Summary);

export type EventType = EngineEvent['type'];

/** An event as the engine code writes it: without an Envelope's fields repeated at every call site. */
type WithoutEnvelope<E> = E extends Envelope ? Omit<E, 'ts' | 'jobId'> : E;
export type EventInput = WithoutEnvelope<EngineEvent>;

export type Listener = (event: EngineEvent) => void;

/** A synchronous fan-out of events to subscribers; a throwing subscriber never breaks the job. */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: EngineEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A subscriber's failure is its own; the engine goes on.
      }
    }
  }
}
