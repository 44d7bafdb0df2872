// Counts and bytes per category while verdicts stream past, and the plain-words recommendations built from them.
import { CATEGORIES, FAILING_CATEGORIES, type Category } from './verdict.ts';
import type { Verdict } from './reconcile.ts';

export type CategoryCounts = Record<Category, number> & { source: number; dest: number };

export function emptyCounts(): CategoryCounts {
  return { matched: 0, missing: 0, extra: 0, sizeMismatch: 0, etagMismatch: 0, unverified: 0, source: 0, dest: 0 };
}

/** Keys a migration's filters left out, and the entries of each side they held. */
export interface ExcludedCounts {
  keys: number;
  source: number;
  dest: number;
}

export class Tally {
  readonly counts: CategoryCounts;
  readonly bytes: CategoryCounts;
  readonly excluded: ExcludedCounts;

  /** A new tally, or one that goes on from saved counts (a comparison checkpoint). */
  constructor(saved?: { counts: CategoryCounts; bytes: CategoryCounts; excluded?: ExcludedCounts }) {
    this.counts = saved ? { ...saved.counts } : emptyCounts();
    this.bytes = saved ? { ...saved.bytes } : emptyCounts();
    this.excluded = saved?.excluded ? { ...saved.excluded } : { keys: 0, source: 0, dest: 0 };
  }

  /** Counts a key the filters leave out: in no category, never reported. */
  exclude(v: Verdict): void {
    this.excluded.keys++;
    if (v.source) this.excluded.source++;
    if (v.dest) this.excluded.dest++;
  }

  add(v: Verdict): void {
    this.counts[v.category]++;
    this.bytes[v.category] += v.source ? v.source.size : v.dest!.size;
    if (v.source) {
      this.counts.source++;
      this.bytes.source += v.source.size;
    }
    if (v.dest) {
      this.counts.dest++;
      this.bytes.dest += v.dest.size;
    }
  }

  get differences(): number {
    return FAILING_CATEGORIES.reduce((n, c) => n + this.counts[c], 0);
  }

  get keys(): number {
    return CATEGORIES.reduce((n, c) => n + this.counts[c], 0);
  }
}

export type Outcome = 'clean' | 'differences' | 'incomplete';

/** Exit codes of design §9: 0 clean (unverified alone included), 1 differences, 2 incomplete or error. */
export function exitCodeOf(outcome: Outcome): 0 | 1 | 2 {
  return outcome === 'clean' ? 0 : outcome === 'differences' ? 1 : 2;
}

export function outcomeOf(counts: CategoryCounts, complete: boolean): Outcome {
  if (!complete) return 'incomplete';
  return FAILING_CATEGORIES.some((c) => counts[c] > 0) ? 'differences' : 'clean';
}

export interface RecommendationInput {
  counts: CategoryCounts;
  complete: boolean;
  incomplete: { side: string; message: string }[];
  duplicates: { source: number; dest: number };
}

/** What the operator should do next, in plain words, most urgent first. */
export function recommend(input: RecommendationInput): string[] {
  const { counts, complete, incomplete, duplicates } = input;
  const out: string[] = [];
  for (const { side, message } of incomplete) {
    out.push(
      `The ${side} listing is incomplete (${message}): list it again before acting; nothing may be deleted and missing/extra keys are not final.`,
    );
  }
  const copy = counts.missing + counts.sizeMismatch + counts.etagMismatch;
  if (copy > 0 && complete) {
    out.push(`Copy ${copy} object(s) to the destination (missing or different): review and run fix.sh in the report folder (or s3mig's fix plan), then reconcile again.`);
  }
  if (counts.extra > 0) {
    out.push(
      `Review ${counts.extra} object(s) that exist only in the destination; delete them only if the destination must mirror the source (reconcile with --delete-extras to get mc rm lines).`,
    );
  }
  if (counts.unverified > 0) {
    out.push(
      `${counts.unverified} object(s) have the same size but ETags that cannot be compared (multipart or empty): verify their content by checksum if proof is required.`,
    );
  }
  for (const side of ['source', 'dest'] as const) {
    if (duplicates[side] > 0) {
      out.push(`The ${side} listing named ${duplicates[side]} key(s) more than once; the last entry of each was used.`);
    }
  }
  if (out.length === 0) out.push('Nothing to do: every key matches.');
  return out;
}
