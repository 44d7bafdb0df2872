// What the TUI's pure tests share: one job, its targets, its counts and a summary to vary per test.
import type { TargetRecord } from '../../src/core/job-record.ts';
import type { Summary } from '../../src/core/summary.ts';

export const JOB = '20261130-021333-2796c0';
export const T0 = Date.UTC(2026, 10, 30, 2, 13, 33);
/** The time `s` seconds after the job started, as the events stamp it. */
export const at = (s: number) => new Date(T0 + s * 1000).toISOString();
/** An event's envelope `s` seconds after the start. */
export const env = (s: number) => ({ ts: at(s), jobId: JOB });

export const SOURCE: TargetRecord = { spec: 'a/src', kind: 'live', alias: 'a', bucket: 'src', prefix: '', endpoint: 'http://127.0.0.1:42581' };
export const DEST: TargetRecord = { spec: 'b/dst/copy', kind: 'live', alias: 'b', bucket: 'dst', prefix: 'copy', endpoint: 'https://s3.example.com' };
export const COUNTS = { matched: 17_000, missing: 2_000, extra: 500, sizeMismatch: 300, etagMismatch: 150, unverified: 50, source: 19_500, dest: 18_000 };

/** A migration's summary with differences; `over` sets what a test looks at (bytes, timings, strategy). */
export function summaryWith(over: Partial<Summary>): Summary {
  return {
    job: JOB,
    kind: 'migrate',
    source: { ...SOURCE, entries: 20_000, complete: true },
    dest: { ...DEST, entries: 18_000, complete: true },
    complete: true,
    outcome: 'differences',
    exitCode: 1,
    counts: COUNTS,
    bytes: { matched: 17e6, missing: 2e6, extra: 5e5, sizeMismatch: 3e5, etagMismatch: 1.5e5, unverified: 5e4, source: 19.5e6, dest: 18e6 },
    duplicates: { source: 0, dest: 0 },
    incomplete: [],
    timings: { startedAt: at(0), finishedAt: at(60), ingestMs: 10_000, compareMs: 5_000, reportMs: 1_000, totalMs: 60_000 },
    rates: { ingestEntriesPerSec: 3_800, compareKeysPerSec: 7_500 },
    peakRssBytes: 1,
    recommendations: [],
    reports: { dir: '/r', summary: '', differencesNdjson: '', differencesCsv: '', fixScript: '', fixPlan: '' },
    ...over,
  };
}
