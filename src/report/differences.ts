// The rows of differences.ndjson and differences.csv: every key that is not matched, with both sides.
import { snapshotOf, type EntrySnapshot } from '../core/entry.ts';
import type { Verdict } from '../core/reconcile.ts';
import type { Category } from '../core/verdict.ts';
import { csvRow } from '../core/csv.ts';

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
