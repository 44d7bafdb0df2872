// The fix plan: which verdicts call for a copy or a delete, and whether mc can address the key faithfully.
import { snapshotOf, type EntrySnapshot } from './entry.ts';
import type { Verdict } from './reconcile.ts';
import { explain, type Category } from './verdict.ts';
import { compareKeys } from './key-order.ts';

export interface FixAction {
  action: 'copy' | 'delete';
  key: string;
  category: Category;
  /** Why, in plain words (from `explain`). */
  reason: string;
  /** 'native' when mc would rewrite the key (see mcAddressable), so no mc command may be written for it. */
  engine: 'mc' | 'native';
  source: EntrySnapshot | null;
  dest: EntrySnapshot | null;
}

export interface FixPlanOptions {
  /** The operator asked for extras to be deleted (--delete-extras). */
  deleteExtras: boolean;
  /** The reconciliation saw both listings to the end; an incomplete run never deletes. */
  complete: boolean;
}

/**
 * Keys a failed listing never reached (full S3 keys): after `after` (exclusive) or from `lo`
 * (inclusive), and below `hi`; null is open. A key there that looks missing or extra is unknown.
 */
export interface KeyGap {
  after: string | null;
  lo: string | null;
  hi: string | null;
}

export function inGaps(fullKey: string, gaps: readonly KeyGap[]): boolean {
  return gaps.some(
    (g) =>
      (g.after !== null ? compareKeys(fullKey, g.after) > 0 : g.lo === null || compareKeys(fullKey, g.lo) >= 0) &&
      (g.hi === null || compareKeys(fullKey, g.hi) < 0),
  );
}

const COPY_CATEGORIES: readonly Category[] = ['missing', 'sizeMismatch', 'etagMismatch'];

/**
 * False for keys mc cannot address faithfully because it path-cleans them: an empty segment (`a//b`,
 * a leading `/`, the empty key), a `.` or `..` segment, or a trailing `/` (mc takes it for a folder).
 * Also false for a key holding U+0000, which no command-line argument can carry.
 */
export function mcAddressable(key: string): boolean {
  if (key.includes('\u0000')) return false;
  if (key.endsWith('/')) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * The action a verdict calls for: copy for missing, sizeMismatch and etagMismatch; delete for extra
 * only when deleteExtras and the run was complete; null otherwise (matched, unverified, kept extras).
 */
export function planFor(v: Verdict, opts: FixPlanOptions): FixAction | null {
  let action: FixAction['action'];
  if (COPY_CATEGORIES.includes(v.category)) action = 'copy';
  else if (v.category === 'extra' && opts.deleteExtras && opts.complete) action = 'delete';
  else return null;
  return {
    action,
    key: v.key,
    category: v.category,
    reason: explain(v.category, v.source, v.dest),
    engine: mcAddressable(v.key) ? 'mc' : 'native',
    source: snapshotOf(v.source),
    dest: snapshotOf(v.dest),
  };
}
