// Ingests one side's listing into its LevelDB, each batch written atomically with that side's checkpoint.
import { throwIfAborted } from '../core/errors.ts';
import { RateMeter } from '../core/rate.ts';
import type { SideName } from '../core/summary.ts';
import type { SideDb } from '../store/side-db.ts';
import type { EntrySink, InputPosition, ListingChunk } from '../targets/inventory-file.ts';
import type { EventInput } from './events.ts';
import type { KeyGap } from '../core/fix-plan.ts';
import { failpoint } from './failpoint.ts';

export const PROGRESS_INTERVAL_MS = 250;
const MAX_KEPT_ERRORS = 100;

/** What a side's inventory database holds: everything of the input before `position`, and nothing after it. */
export interface IngestCheckpoint {
  position: InputPosition;
  /** The key of the last entry stored (inventory files; absent before the first). */
  lastKey?: string;
  /** Entries stored so far (duplicates included) and their bytes. */
  entries: number;
  bytes: number;
  /** The first error objects met (the listing is incomplete when errorCount > 0). */
  errors: string[];
  errorCount: number;
  /** The listing has been read to its end. */
  done: boolean;
  /** Live listings: key intervals of ranges that failed, never listed (design §5: not acted on). */
  gaps?: KeyGap[];
}

export const INGEST_CHECKPOINT_KEY = 'ingest';

export function emptyIngestCheckpoint(): IngestCheckpoint {
  return { position: { line: 0, offset: 0 }, entries: 0, bytes: 0, errors: [], errorCount: 0, done: false };
}

export interface IngestOptions {
  emit: (event: EventInput) => void;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Reads a side from its checkpoint on (`open` starts the listing at a position) and stores it, one
 * chunk per batch, one batch in flight while the next is parsed. A stop request is honoured at the next
 * batch boundary: the batches read are written with their checkpoints, then it throws.
 */
export async function ingestListing(
  db: SideDb,
  side: SideName,
  open: (start: InputPosition, sink: EntrySink) => AsyncIterable<ListingChunk>,
  options: IngestOptions,
): Promise<IngestCheckpoint> {
  const { emit, signal, now = Date.now } = options;
  let committed = (await db.getJson<IngestCheckpoint>(INGEST_CHECKPOINT_KEY)) ?? emptyIngestCheckpoint();
  if (committed.done) return committed;
  if (committed.entries > 0 || committed.position.offset > 0) {
    emit({
      type: 'log',
      level: 'info',
      side,
      message: `${side}: continuing after line ${committed.position.line.toLocaleString('en-US')} (${committed.entries.toLocaleString('en-US')} entries stored${committed.lastKey !== undefined ? `, the last ${JSON.stringify(committed.lastKey)}` : ''})`,
    });
  }
  const meter = new RateMeter();
  meter.sample(committed.entries, now());
  let inFlight: Promise<void> | undefined;
  const landed = async () => {
    if (inFlight) await inFlight;
    inFlight = undefined;
  };
  // The reader puts each entry into `batch` as it parses it; at each chunk boundary that batch is sent
  // with the chunk's checkpoint and a new one takes the entries that follow.
  let batch = db.batch();
  const send = (next: IngestCheckpoint) => {
    failpoint('ingest:before-batch');
    const full = batch;
    batch = db.batch();
    const sending = full
      .write({ key: INGEST_CHECKPOINT_KEY, value: next }, () => failpoint('ingest:entries-written'), next.lastKey)
      .then(() => failpoint('ingest:after-batch'));
    sending.catch(() => undefined); // awaited before the next batch; never an unhandled rejection meanwhile
    inFlight = sending;
    committed = next;
  };
  let input = { inputBytes: 0, totalBytes: 0 };
  const progress = (done: boolean) => {
    emit({
      type: 'inventory:progress',
      side,
      entries: committed.entries,
      bytes: committed.bytes,
      rate: Math.round(meter.sample(committed.entries, now())),
      inputBytes: input.inputBytes,
      totalBytes: input.totalBytes,
      done,
    });
  };

  try {
    for await (const chunk of open(committed.position, (key, value) => batch.put(key, value))) {
      input = chunk;
      for (const message of chunk.errors) {
        emit({ type: 'log', level: 'error', side, code: 'S3MIG_LISTING_INCOMPLETE', message: `${side} listing error: ${message}` });
      }
      await landed();
      const lastKey = chunk.lastKey ?? committed.lastKey;
      send({
        position: chunk.end,
        ...(lastKey !== undefined ? { lastKey } : {}),
        entries: committed.entries + chunk.entries,
        bytes: committed.bytes + chunk.bytes,
        errors: [...committed.errors, ...chunk.errors].slice(0, MAX_KEPT_ERRORS),
        errorCount: committed.errorCount + chunk.errors.length,
        done: false,
      });
      progress(false);
      throwIfAborted(signal);
    }
    await landed();
  } catch (err) {
    // Whatever stopped the reading, the batch already sent lands (or fails) before the store is closed.
    await inFlight?.catch(() => undefined);
    throw err;
  }
  send({ ...committed, done: true });
  await landed();
  progress(true);
  return committed;
}
