// The rows of differences.ndjson and differences.csv: every key that is not matched, with both sides and its review mark.
import { snapshotOf, type EntrySnapshot } from '../core/entry.ts';
import type { Verdict } from '../core/reconcile.ts';
import type { Category } from '../core/verdict.ts';
import type { ReviewMark } from '../core/summary.ts';
import { csvRow } from '../core/csv.ts';

export interface DifferenceRow {
  key: string;
  category: Category;
  source: EntrySnapshot | null;
  dest: EntrySnapshot | null;
  /** The operator's review mark on the key, when there is one (it does not change the category). */
  mark?: ReviewMark;
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
  'review_mark',
] as const;

export function rowOf(v: Verdict, mark?: ReviewMark): DifferenceRow {
  const row: DifferenceRow = { key: v.key, category: v.category, source: snapshotOf(v.source), dest: snapshotOf(v.dest) };
  if (mark) row.mark = mark;
  return row;
}

export function csvRecordOf(row: DifferenceRow): string {
  const side = (s: EntrySnapshot | null) => (s ? [s.size, s.etag, s.lastModified, s.storageClass ?? ''] : ['', '', '', '']);
  return csvRow([row.key, row.category, ...side(row.source), ...side(row.dest), row.mark ?? '']);
}
