// Ingests one side's listing into the job's LevelDB in batches, one batch in flight while the next is parsed.
import type { ObjectEntry } from '../core/entry.ts';
import { throwIfAborted } from '../core/errors.ts';
import { RateMeter } from '../core/rate.ts';
import type { SideName } from '../core/summary.ts';
import type { JobDb } from '../store/job-db.ts';
import type { ListingChunk } from '../targets/inventory-file.ts';
import type { EventInput } from './events.ts';

export const INGEST_BATCH_SIZE = 10_000;
export const PROGRESS_INTERVAL_MS = 250;

export interface IngestResult {
  side: SideName;
  entries: number;
  bytes: number;
  /** Error objects the listing contained: non-empty means the side is incomplete. */
  errors: string[];
}

export interface IngestOptions {
  emit: (event: EventInput) => void;
  signal?: AbortSignal;
  batchSize?: number;
  now?: () => number;
}

export async function ingestListing(
  db: JobDb,
  side: SideName,
  chunks: AsyncIterable<ListingChunk>,
  options: IngestOptions,
): Promise<IngestResult> {
  const { emit, signal, batchSize = INGEST_BATCH_SIZE, now = Date.now } = options;
  const meter = new RateMeter();
  const result: IngestResult = { side, entries: 0, bytes: 0, errors: [] };
  let batch: ObjectEntry[] = [];
  let inFlight: Promise<void> | undefined;
  let position = { inputBytes: 0, totalBytes: 0 };
  let lastEmit = now();

  const progress = (done: boolean) => {
    const t = now();
    lastEmit = t;
    emit({
      type: 'inventory:progress',
      side,
      entries: result.entries,
      bytes: result.bytes,
      rate: Math.round(meter.sample(result.entries, t)),
      inputBytes: position.inputBytes,
      totalBytes: position.totalBytes,
      done,
    });
  };

  /** Waits for the batch in flight, then sends this one: LevelDB writes while the next batch is parsed. */
  const flush = async () => {
    if (inFlight) await inFlight;
    inFlight = undefined;
    if (batch.length === 0) return;
    const sending = db.writeEntries(side, batch);
    sending.catch(() => undefined); // awaited at the next flush; never an unhandled rejection meanwhile
    inFlight = sending;
    batch = [];
  };

  meter.sample(0, lastEmit);
  for await (const chunk of chunks) {
    throwIfAborted(signal);
    position = chunk;
    for (const e of chunk.entries) {
      batch.push(e);
      result.entries++;
      result.bytes += e.size;
      if (batch.length >= batchSize) {
        await flush();
        progress(false);
      }
    }
    for (const message of chunk.errors) {
      result.errors.push(message);
      emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${message}` });
    }
    if (now() - lastEmit >= PROGRESS_INTERVAL_MS) progress(false);
  }
  await flush();
  await flush();
  progress(true);
  return result;
}
