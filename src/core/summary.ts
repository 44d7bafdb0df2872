// The run summary (summary.json and the last --json line): one shape, built by one pure function.
import type { Strategy, TargetRecord } from './job-record.ts';
import type { CrossCheckSummary } from './cross-check.ts';
import { exitCodeOf, outcomeOf, recommend, type CategoryCounts, type Outcome } from './tally.ts';

export type SideName = 'source' | 'dest';

export interface SideSummary extends TargetRecord {
  /** Entries read from the listing, duplicates included. */
  entries: number;
  complete: boolean;
}

export interface Summary {
  job: string;
  kind: 'reconcile';
  source: SideSummary;
  dest: SideSummary;
  complete: boolean;
  outcome: Outcome;
  exitCode: 0 | 1 | 2;
  counts: CategoryCounts;
  bytes: CategoryCounts;
  duplicates: Record<SideName, number>;
  incomplete: { side: SideName; message: string }[];
  timings: { startedAt: string; finishedAt: string; ingestMs: number; compareMs: number; reportMs: number; totalMs: number };
  rates: { ingestEntriesPerSec: number; compareKeysPerSec: number };
  peakRssBytes: number;
  /** The strategy chosen from the estimate, and why (absent for jobs made before estimates). */
  strategy?: Strategy;
  /** --cross-check mc-diff: where mc diff and s3mig agree. */
  crossCheck?: CrossCheckSummary;
  recommendations: string[];
  reports: { dir: string; summary: string; differencesNdjson: string; differencesCsv: string; fixScript: string; fixPlan: string };
}

export interface SummaryInput {
  job: string;
  source: SideSummary;
  dest: SideSummary;
  counts: CategoryCounts;
  bytes: CategoryCounts;
  incomplete: { side: SideName; message: string }[];
  startedAt: number;
  finishedAt: number;
  ingestMs: number;
  compareMs: number;
  reportMs: number;
  peakRssBytes: number;
  strategy?: Strategy;
  crossCheck?: CrossCheckSummary;
  reports: Summary['reports'];
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? Math.round((n * 1000) / ms) : 0;
}

export function buildSummary(input: SummaryInput): Summary {
  const complete = input.source.complete && input.dest.complete;
  const duplicates = {
    source: Math.max(0, input.source.entries - input.counts.source),
    dest: Math.max(0, input.dest.entries - input.counts.dest),
  };
  const outcome = outcomeOf(input.counts, complete);
  return {
    job: input.job,
    kind: 'reconcile',
    source: input.source,
    dest: input.dest,
    complete,
    outcome,
    exitCode: exitCodeOf(outcome),
    counts: input.counts,
    bytes: input.bytes,
    duplicates,
    incomplete: input.incomplete,
    timings: {
      startedAt: new Date(input.startedAt).toISOString(),
      finishedAt: new Date(input.finishedAt).toISOString(),
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
    recommendations: [
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
