// Where mc diff and s3mig's verdicts agree (reference/mc-json.md §5): mc compares names, sizes and "first
// is newer" only, never ETags, so some differences only s3mig can see; any other mismatch is reported.
import type { Category } from './verdict.ts';

/** mc diff's integer codes, by name. */
export const MC_DIFF_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'none',
  2: 'size',
  3: 'metadata',
  4: 'type',
  5: 'only-in-first',
  6: 'only-in-second',
  7: 'first-newer',
};

/**
 * The difference mc diff means by a line: one side's URL empty says only-in-first (5) or only-in-second
 * (6) whatever the code; with both present the code says size (2), type (4) or first-newer (7).
 */
export function mcDiffCode(first: string, second: string, diff: number): number {
  if (first !== '' && second === '') return 5;
  if (first === '' && second !== '') return 6;
  return diff;
}

export type CrossCheckOutcome =
  /** Both say the same thing. */
  | 'agree'
  /** s3mig found an ETag difference that mc cannot see (mc compares no ETags). */
  | 'etag-only'
  | 'disagree';

/**
 * How s3mig's verdict of a key (`matched` when it is not in the differences) relates to mc diff's code
 * for it (null: mc printed nothing, which means no difference to mc).
 */
export function crossCheckOutcome(ours: Category, mc: number | null): CrossCheckOutcome {
  switch (mc) {
    case null:
    case 1:
      if (ours === 'matched' || ours === 'unverified') return 'agree';
      return ours === 'etagMismatch' ? 'etag-only' : 'disagree';
    case 5:
      return ours === 'missing' ? 'agree' : 'disagree';
    case 6:
      return ours === 'extra' ? 'agree' : 'disagree';
    case 2:
      return ours === 'sizeMismatch' ? 'agree' : 'disagree';
    case 4:
      // A file against a folder of the same name: to s3mig, `a` and `a/…` are different keys.
      return ours === 'missing' || ours === 'extra' ? 'agree' : 'disagree';
    case 7:
      // Same size, the source newer: not a content difference for either tool.
      if (ours === 'matched' || ours === 'unverified') return 'agree';
      return ours === 'etagMismatch' ? 'etag-only' : 'disagree';
    default:
      return 'disagree';
  }
}

/** What the cross-check found, as summary.json carries it. */
export interface CrossCheckSummary {
  tool: 'mc-diff';
  /** mc diff listed both sides without an error; when false its answer is partial. */
  complete: boolean;
  failure?: string;
  /** Lines mc diff printed. */
  mcDifferences: number;
  agreed: number;
  /** ETag differences mc cannot see. */
  etagOnly: number;
  disagreements: number;
  /** cross-check.ndjson: one line per disagreement. */
  file: string;
}
