// The streaming merge-join: walks two key-ordered sources in lock step and yields one verdict per key.
import { compareKeys } from './key-order.ts';
import type { ObjectEntry } from './entry.ts';
import { classify, type Category } from './verdict.ts';
import { S3migError, throwIfAborted } from './errors.ts';

export interface Verdict {
  key: string;
  category: Category;
  source: ObjectEntry | null;
  dest: ObjectEntry | null;
}

/** A side of the join: batches of entries, in strictly increasing UTF-8 byte order across batches. */
export type EntrySource = AsyncIterable<readonly ObjectEntry[]>;

export interface ReconcileOptions {
  signal?: AbortSignal;
  /** Verdicts per yielded batch (default 1000). */
  batchSize?: number;
  /**
   * The sources are LevelDB ranges, whose keys are strictly increasing by construction (valid UTF-8 in
   * byte order): the per-entry order check is left out. Any other source is checked.
   */
  ordered?: boolean;
}

/** Reads one side batch by batch and fails loudly when its keys are not strictly increasing. */
class Cursor {
  private readonly it: AsyncIterator<readonly ObjectEntry[]>;
  private batch: readonly ObjectEntry[] = [];
  private index = 0;
  private last: string | undefined;
  done = false;
  read = 0;

  constructor(
    source: EntrySource,
    private readonly side: 'source' | 'dest',
    private readonly checked: boolean,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** True when the current batch is used up and the source may have more. */
  get starved(): boolean {
    return this.index >= this.batch.length && !this.done;
  }

  /** Loads batches until one has an entry or the source ends. */
  async fill(): Promise<void> {
    while (this.index >= this.batch.length && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else {
        this.batch = next.value;
        this.index = 0;
      }
    }
  }

  /** The current entry; undefined at the end (call fill first when starved). */
  get head(): ObjectEntry | undefined {
    return this.index < this.batch.length ? this.batch[this.index] : undefined;
  }

  /** Consumes the current entry (which peek returned) after checking its order. */
  advance(entry: ObjectEntry): void {
    if (this.checked && this.last !== undefined && compareKeys(this.last, entry.key) >= 0) {
      throw new S3migError(
        'S3MIG_SOURCE_UNORDERED',
        `${this.side} listing is not in UTF-8 byte order: ${JSON.stringify(entry.key)} comes after ${JSON.stringify(this.last)}`,
      );
    }
    this.last = entry.key;
    this.index++;
    this.read++;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Merge-joins two ordered sources. Each key yields exactly one verdict; out-of-order input throws
 * S3MIG_SOURCE_UNORDERED; an aborted signal throws S3MIG_CANCELED. Memory is one batch per side.
 */
export async function* reconcile(
  source: EntrySource,
  dest: EntrySource,
  options: ReconcileOptions = {},
): AsyncGenerator<Verdict[]> {
  const { signal, batchSize = 1000, ordered = false } = options;
  const src = new Cursor(source, 'source', !ordered);
  const dst = new Cursor(dest, 'dest', !ordered);
  let out: Verdict[] = [];
  try {
    for (;;) {
      throwIfAborted(signal);
      if (src.starved) await src.fill();
      if (dst.starved) await dst.fill();
      const s = src.head;
      const d = dst.head;
      if (s === undefined && d === undefined) break;
      const order = s === undefined ? 1 : d === undefined ? -1 : compareKeys(s.key, d.key);
      if (order < 0) {
        src.advance(s!);
        out.push({ key: s!.key, category: 'missing', source: s!, dest: null });
      } else if (order > 0) {
        dst.advance(d!);
        out.push({ key: d!.key, category: 'extra', source: null, dest: d! });
      } else {
        src.advance(s!);
        dst.advance(d!);
        out.push({ key: s!.key, category: classify(s!, d!), source: s!, dest: d! });
      }
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all([src.close(), dst.close()]);
  }
}

/** Adapts a plain ordered list or iterable of entries into an EntrySource (tests, small inputs). */
export async function* batchesOf(entries: Iterable<ObjectEntry> | AsyncIterable<ObjectEntry>, size = 1000): EntrySource {
  let batch: ObjectEntry[] = [];
  for await (const entry of entries) {
    batch.push(entry);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
