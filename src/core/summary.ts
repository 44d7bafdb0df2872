// The run summary (summary.json and the last --json line): one shape, built by one pure function.
import type { Strategy, TargetRecord } from './job-record.ts';
import type { CrossCheckSummary } from './cross-check.ts';
import { exitCodeOf, outcomeOf, recommend, type CategoryCounts, type ExcludedCounts, type Outcome } from './tally.ts';

export type SideName = 'source' | 'dest';

/** An operator's review mark on a difference (the TUI's `i` ignore, `a` accept); it never changes a verdict. */
export type ReviewMark = 'ignore' | 'accept';

/** How many of a report's differences carry each review mark. */
export type ReviewMarkCounts = Record<ReviewMark, number>;

export interface SideSummary extends TargetRecord {
  /** Entries read from the listing, duplicates included. */
  entries: number;
  complete: boolean;
}

/** What a migration's transfer did (engine/transfer.ts fills it). */
export interface TransferSummary {
  engine: 'native' | 'mc';
  dryRun: boolean;
  /** What the listing said to copy (native and dry runs; mc plans inside mirror). */
  planned?: { objects: number; bytes: number };
  /** Copies confirmed (native: each verified by size or ETag). */
  copied: number;
  copiedBytes: number;
  /** mc: copies mc said it started; only the reconciliation confirms them. */
  started?: number;
  startedBytes?: number;
  /** Keys that still failed after their retries: the failed queue (`s3mig retry JOB`). */
  failed: number;
  /** Keys an earlier run of this job had already settled. */
  skipped: number;
  /** The first failures, with their reasons. */
  failures: { key: string; error: string }[];
  /** mc: why mirror as a whole failed (the reconciliation still ran). */
  failure?: string;
}

export interface Summary {
  job: string;
  kind: 'reconcile' | 'migrate';
  source: SideSummary;
  dest: SideSummary;
  complete: boolean;
  outcome: Outcome;
  exitCode: 0 | 1 | 2;
  counts: CategoryCounts;
  bytes: CategoryCounts;
  /** Review marks on keys that are differences in this report (marks on matched keys are not counted); absent in summaries written before marks. */
  reviewMarks?: ReviewMarkCounts;
  duplicates: Record<SideName, number>;
  incomplete: { side: SideName; message: string }[];
  timings: { startedAt: string; finishedAt: string; transferMs?: number; ingestMs: number; compareMs: number; reportMs: number; totalMs: number };
  rates: { ingestEntriesPerSec: number; compareKeysPerSec: number };
  peakRssBytes: number;
  /** The strategy chosen from the estimate, and why (absent for jobs made before estimates). */
  strategy?: Strategy;
  /** --cross-check mc-diff: where mc diff and s3mig agree. */
  crossCheck?: CrossCheckSummary;
  /** Keys the filters (--exclude, --newer-than, --older-than) left out of the comparison. */
  excluded?: ExcludedCounts;
  /** Migrations: the transfer, and how many fix rounds ran. */
  transfer?: TransferSummary;
  fixRounds?: number;
  recommendations: string[];
  reports: { dir: string; summary: string; differencesNdjson: string; differencesCsv: string; fixScript: string; fixPlan: string };
}

export interface SummaryInput {
  job: string;
  kind?: Summary['kind'];
  transfer?: TransferSummary;
  transferMs?: number;
  fixRounds?: number;
  source: SideSummary;
  dest: SideSummary;
  counts: CategoryCounts;
  bytes: CategoryCounts;
  /** Default: none. */
  reviewMarks?: ReviewMarkCounts;
  incomplete: { side: SideName; message: string }[];
  startedAt: number;
  finishedAt: number;
  ingestMs: number;
  compareMs: number;
  reportMs: number;
  peakRssBytes: number;
  strategy?: Strategy;
  crossCheck?: CrossCheckSummary;
  excluded?: ExcludedCounts;
  reports: Summary['reports'];
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? Math.round((n * 1000) / ms) : 0;
}

export function buildSummary(input: SummaryInput): Summary {
  const complete = input.source.complete && input.dest.complete;
  const duplicates = {
    source: Math.max(0, input.source.entries - input.counts.source - (input.excluded?.source ?? 0)),
    dest: Math.max(0, input.dest.entries - input.counts.dest - (input.excluded?.dest ?? 0)),
  };
  const outcome = outcomeOf(input.counts, complete);
  return {
    job: input.job,
    kind: input.kind ?? 'reconcile',
    source: input.source,
    dest: input.dest,
    complete,
    outcome,
    exitCode: exitCodeOf(outcome),
    counts: input.counts,
    bytes: input.bytes,
    reviewMarks: { ignore: input.reviewMarks?.ignore ?? 0, accept: input.reviewMarks?.accept ?? 0 },
    duplicates,
    incomplete: input.incomplete,
    timings: {
      startedAt: new Date(input.startedAt).toISOString(),
      finishedAt: new Date(input.finishedAt).toISOString(),
      ...(input.transferMs !== undefined ? { transferMs: input.transferMs } : {}),
      ingestMs: input.ingestMs,
      compareMs: input.compareMs,
      reportMs: input.reportMs,
      totalMs: input.finishedAt - input.startedAt,
    },
    rates: {
      ingestEntriesPerSec: perSecond(input.source.entries + input.dest.entries, input.ingestMs),
      compareKeysPerSec: perSecond(input.counts.source + input.counts.dest, input.compareMs),
    },
    peakRssBytes: input.peakRssBytes,
    ...(input.strategy ? { strategy: input.strategy } : {}),
    ...(input.crossCheck ? { crossCheck: input.crossCheck } : {}),
    ...(input.excluded && input.excluded.keys > 0 ? { excluded: input.excluded } : {}),
    ...(input.transfer ? { transfer: input.transfer } : {}),
    ...(input.fixRounds !== undefined ? { fixRounds: input.fixRounds } : {}),
    recommendations: [
      ...transferAdvice(input.job, input.transfer),
      ...recommend({ counts: input.counts, complete, incomplete: input.incomplete, duplicates }),
      ...crossCheckAdvice(input.crossCheck),
    ],
    reports: input.reports,
  };
}

function crossCheckAdvice(c: CrossCheckSummary | undefined): string[] {
  if (!c) return [];
  const out: string[] = [];
  if (!c.complete) out.push(`mc diff did not finish (${c.failure ?? 'error'}): its cross-check is partial.`);
  if (c.disagreements > 0) out.push(`mc diff disagrees with s3mig on ${c.disagreements} key(s): see ${c.file} before acting on them.`);
  return out;
}

function transferAdvice(job: string, t: TransferSummary | undefined): string[] {
  if (!t) return [];
  const out: string[] = [];
  if (t.dryRun) out.push(`Dry run: the transfer would copy ${t.planned?.objects ?? 0} object(s) (${t.planned?.bytes ?? 0} bytes); nothing was changed.`);
  if (t.failed > 0) out.push(`${t.failed} object(s) could not be copied after their retries (first: ${t.failures[0]?.key ?? '?'}: ${t.failures[0]?.error ?? '?'}): run s3mig retry ${job}.`);
  if (t.failure) out.push(`mc mirror failed (${t.failure}); the reconciliation shows what arrived.`);
  return out;
}
