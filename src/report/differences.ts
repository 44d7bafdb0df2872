// Streaming writers for differences.ndjson and differences.csv: rows go to disk as verdicts arrive.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import { snapshotOf, type EntrySnapshot } from '../core/entry.ts';
import type { Verdict } from '../core/reconcile.ts';
import type { Category } from '../core/verdict.ts';
import { csvRow } from '../core/csv.ts';
import { S3migError } from '../core/errors.ts';

export interface DifferenceRow {
  key: string;
  category: Category;
  source: EntrySnapshot | null;
  dest: EntrySnapshot | null;
}

export const CSV_COLUMNS = [
  'key',
  'category',
  'source_size',
  'source_etag',
  'source_last_modified',
  'source_storage_class',
  'dest_size',
  'dest_etag',
  'dest_last_modified',
  'dest_storage_class',
] as const;

export function rowOf(v: Verdict): DifferenceRow {
  return { key: v.key, category: v.category, source: snapshotOf(v.source), dest: snapshotOf(v.dest) };
}

export function csvRecordOf(row: DifferenceRow): string {
  const side = (s: EntrySnapshot | null) => (s ? [s.size, s.etag, s.lastModified, s.storageClass ?? ''] : ['', '', '', '']);
  return csvRow([row.key, row.category, ...side(row.source), ...side(row.dest)]);
}

/** One output file written under a temporary name and renamed into place when complete. */
class StagedFile {
  readonly stream: WriteStream;
  private readonly partial: string;
  /** The first write error (a full disk, say), thrown at the next write or at commit. */
  error: Error | undefined;

  constructor(readonly path: string) {
    this.partial = `${path}.partial`;
    this.stream = createWriteStream(this.partial);
    this.stream.on('error', (err) => {
      this.error ??= err;
    });
  }

  check(): void {
    if (this.error) throw new S3migError('S3MIG_REPORT_WRITE', `cannot write ${this.path}: ${this.error.message}`, { cause: this.error });
  }

  async opened(): Promise<void> {
    await once(this.stream, 'open');
  }

  async commit(): Promise<void> {
    this.check();
    this.stream.end();
    try {
      await once(this.stream, 'finish');
    } catch {
      this.check();
    }
    this.check();
    await rename(this.partial, this.path);
  }

  abort(): void {
    this.stream.destroy();
  }
}

export class DifferencesWriter {
  private readonly ndjson: StagedFile;
  private readonly csv: StagedFile;
  rows = 0;

  private constructor(ndjsonPath: string, csvPath: string) {
    this.ndjson = new StagedFile(ndjsonPath);
    this.csv = new StagedFile(csvPath);
  }

  static async open(ndjsonPath: string, csvPath: string): Promise<DifferencesWriter> {
    const w = new DifferencesWriter(ndjsonPath, csvPath);
    await Promise.all([w.ndjson.opened(), w.csv.opened()]);
    w.csv.stream.write(csvRow(CSV_COLUMNS));
    return w;
  }

  /** Writes one row; resolves at once unless a file's buffer is full, then when it has drained. */
  write(row: DifferenceRow): Promise<void> | undefined {
    this.ndjson.check();
    this.csv.check();
    this.rows++;
    const a = this.ndjson.stream.write(JSON.stringify(row) + '\n');
    const b = this.csv.stream.write(csvRecordOf(row));
    if (a && b) return undefined;
    return Promise.all([a ? undefined : once(this.ndjson.stream, 'drain'), b ? undefined : once(this.csv.stream, 'drain')]).then(
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.ndjson.commit(), this.csv.commit()]);
  }

  abort(): void {
    this.ndjson.abort();
    this.csv.abort();
  }
}
