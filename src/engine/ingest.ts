// Ingests one side's listing into the job's LevelDB in batches, each written atomically with that side's checkpoint.
import type { ObjectEntry } from '../core/entry.ts';
import { throwIfAborted } from '../core/errors.ts';
import { RateMeter } from '../core/rate.ts';
import type { SideName } from '../core/summary.ts';
import type { JobDb } from '../store/job-db.ts';
import type { InputPosition, ListingChunk, ListingError } from '../targets/inventory-file.ts';
import type { EventInput } from './events.ts';
import { failpoint } from './failpoint.ts';

export const INGEST_BATCH_SIZE = 10_000;
export const PROGRESS_INTERVAL_MS = 250;
const MAX_KEPT_ERRORS = 100;

/** What a side's LevelDB inventory holds: everything of the input before `position`, and nothing after it. */
export interface IngestCheckpoint {
  position: InputPosition;
  /** Entries stored so far (duplicates included) and their bytes. */
  entries: number;
  bytes: number;
  /** The first error objects met (the listing is incomplete when errorCount > 0). */
  errors: string[];
  errorCount: number;
  /** The listing has been read to its end. */
  done: boolean;
}

export const ingestCheckpointKey = (side: SideName) => `ingest:${side}`;

export function emptyIngestCheckpoint(): IngestCheckpoint {
  return { position: { line: 0, offset: 0 }, entries: 0, bytes: 0, errors: [], errorCount: 0, done: false };
}

export interface IngestOptions {
  emit: (event: EventInput) => void;
  signal?: AbortSignal;
  batchSize?: number;
  now?: () => number;
}

/**
 * Reads a side from its checkpoint on (`open` starts the listing at a position) and stores it. A stop
 * request is honoured at the next chunk: what was read is written with its checkpoint, then it throws.
 */
export async function ingestListing(
  db: JobDb,
  side: SideName,
  open: (start: InputPosition) => AsyncIterable<ListingChunk>,
  options: IngestOptions,
): Promise<IngestCheckpoint> {
  const { emit, signal, batchSize = INGEST_BATCH_SIZE, now = Date.now } = options;
  const key = ingestCheckpointKey(side);
  let committed = (await db.getJson<IngestCheckpoint>(key)) ?? emptyIngestCheckpoint();
  if (committed.done) return committed;
  if (committed.entries > 0 || committed.position.offset > 0) {
    emit({
      type: 'log',
      level: 'info',
      side,
      message: `${side}: continuing after line ${committed.position.line.toLocaleString('en-US')} (${committed.entries.toLocaleString('en-US')} entries stored)`,
    });
  }

  const meter = new RateMeter();
  let batch: ObjectEntry[] = [];
  let batchBytes = 0;
  let pendingErrors: ListingError[] = [];
  let inFlight: Promise<void> | undefined;
  let input = { inputBytes: 0, totalBytes: 0 };
  let lastEmit = now();

  const progress = (done: boolean) => {
    const t = now();
    lastEmit = t;
    const entries = committed.entries + batch.length;
    emit({
      type: 'inventory:progress',
      side,
      entries,
      bytes: committed.bytes + batchBytes,
      rate: Math.round(meter.sample(entries, t)),
      inputBytes: input.inputBytes,
      totalBytes: input.totalBytes,
      done,
    });
  };

  /** Sends the batch with the checkpoint `position`; the previous batch must have landed first. */
  const flush = async (position: InputPosition, done = false) => {
    await landed();
    const arrived = pendingErrors.filter((e) => e.offset <= position.offset).map((e) => e.message);
    pendingErrors = pendingErrors.filter((e) => e.offset > position.offset);
    const next: IngestCheckpoint = {
      position,
      entries: committed.entries + batch.length,
      bytes: committed.bytes + batchBytes,
      errors: [...committed.errors, ...arrived].slice(0, MAX_KEPT_ERRORS),
      errorCount: committed.errorCount + arrived.length,
      done,
    };
    failpoint('ingest:before-batch');
    const sending = db.writeEntries(side, batch, { key, value: next }).then(() => failpoint('ingest:after-batch'));
    sending.catch(() => undefined); // awaited at the next flush; never an unhandled rejection meanwhile
    inFlight = sending;
    committed = next;
    batch = [];
    batchBytes = 0;
  };

  const landed = async () => {
    if (inFlight) await inFlight;
    inFlight = undefined;
  };

  let end = committed.position;
  meter.sample(committed.entries, lastEmit);
  for await (const chunk of open(committed.position)) {
    input = chunk;
    for (const e of chunk.errors) {
      pendingErrors.push(e);
      emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${e.message}` });
    }
    const { entries, ends } = chunk;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      batch.push(e);
      batchBytes += e.size;
      if (batch.length >= batchSize) {
        await flush(ends[i]!);
        progress(false);
      }
    }
    end = chunk.end;
    if (signal?.aborted) {
      await flush(end);
      await landed();
      throwIfAborted(signal);
    }
    if (now() - lastEmit >= PROGRESS_INTERVAL_MS) progress(false);
  }
  await flush(end, true);
  await landed();
  progress(true);
  return committed;
}
