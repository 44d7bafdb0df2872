// Human-readable text for the terminal: the run summary, the jobs table, sizes and durations.
import type { JobRecord } from '../core/job-record.ts';
import type { Summary } from '../core/summary.ts';
import { CATEGORIES, CATEGORY_LABEL } from '../core/verdict.ts';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${Math.round(s % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/** Keys are printed as JSON strings when they hold control characters, so the terminal is never steered by data. */
export function printableKey(key: string): string {
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(key) ? JSON.stringify(key) : key;
}

const LABEL = CATEGORY_LABEL;

const VERDICT = {
  clean: 'CLEAN: every source object is in the destination',
  differences: 'DIFFERENCES FOUND',
  incomplete: 'INCOMPLETE: a listing failed, the counts are not final',
};

export function formatSummary(s: Summary, options: { demo?: boolean } = {}): string {
  const lines: string[] = [];
  lines.push(`s3mig ${s.kind}   job ${s.job}`);
  const side = (label: string, x: Summary['source'], count: number, bytes: number) =>
    `  ${label.padEnd(7)}${printableKey(x.spec)}  (${formatCount(count)} objects, ${formatBytes(bytes)}${x.complete ? '' : ', INCOMPLETE'})`;
  lines.push(side('source', s.source, s.counts.source, s.bytes.source));
  lines.push(side('dest', s.dest, s.counts.dest, s.bytes.dest));
  lines.push('');
  const t = s.transfer;
  if (t) {
    const what = t.dryRun
      ? `dry run, would copy ${formatCount(t.planned?.objects ?? 0)} objects (${formatBytes(t.planned?.bytes ?? 0)})`
      : t.engine === 'mc'
        ? `mc mirror started ${formatCount(t.started ?? 0)} copies (${formatBytes(t.startedBytes ?? 0)})${t.failure ? `, then failed: ${t.failure}` : ''}`
        : `${formatCount(t.copied)} copied (${formatBytes(t.copiedBytes)}), ${formatCount(t.failed)} failed${t.skipped > 0 ? `, ${formatCount(t.skipped)} done before a resume` : ''}`;
    lines.push(`  transfer       ${what}`);
    if (s.fixRounds !== undefined) lines.push(`  fix rounds     ${s.fixRounds}`);
    lines.push('');
  }
  if (s.excluded) lines.push(`  excluded       ${formatCount(s.excluded.keys)} keys left out by the filters`);
  const width = Math.max(...CATEGORIES.map((c) => formatCount(s.counts[c]).length));
  for (const c of CATEGORIES) {
    lines.push(`  ${LABEL[c].padEnd(15)}${formatCount(s.counts[c]).padStart(width)}   ${formatBytes(s.bytes[c])}`);
  }
  const dups = s.duplicates.source + s.duplicates.dest;
  if (dups > 0) lines.push(`  duplicates     ${formatCount(s.duplicates.source)} in source, ${formatCount(s.duplicates.dest)} in dest (last entry kept)`);
  lines.push('');
  const exit = options.demo ? `s3mig ${s.kind} would exit ${s.exitCode}; the demo exits ${s.outcome === 'incomplete' ? 2 : 0}` : `exit ${s.exitCode}`;
  lines.push(`  verdict: ${VERDICT[s.outcome]} (${exit})`);
  const keysPerSec = s.rates.compareKeysPerSec;
  lines.push(
    `  time:    ${formatDuration(s.timings.totalMs)} (${s.timings.transferMs !== undefined ? `transfer ${formatDuration(s.timings.transferMs)}, ` : ''}inventory ${formatDuration(s.timings.ingestMs)}, compare ${formatDuration(s.timings.compareMs)}, ${formatCount(keysPerSec)} entries/s), peak RSS ${formatBytes(s.peakRssBytes)}`,
  );
  lines.push(`  reports: ${s.reports.dir}`);
  lines.push('           summary.json, differences.ndjson, differences.csv, fix.sh, fix-plan.ndjson');
  lines.push('');
  for (const r of s.recommendations) lines.push(`  - ${r}`);
  return lines.join('\n') + '\n';
}

export function formatJobs(jobs: JobRecord[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  const rows = jobs.map((j) => {
    const c = j.counts;
    const counts = c
      ? `matched ${c.matched}, missing ${c.missing}, extra ${c.extra}, size ${c.sizeMismatch}, etag ${c.etagMismatch}, unverified ${c.unverified}`
      : '-';
    const state = `${j.kind === 'migrate' ? 'migrate ' : ''}${j.state}${j.prunedAt ? ' (pruned)' : ''}`;
    return [j.id, state, j.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${printableKey(j.source.spec)} -> ${printableKey(j.dest.spec)}`, counts];
  });
  const header = ['JOB', 'STATE', 'STARTED', 'TARGETS', 'COUNTS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((x, i) => (i === r.length - 1 ? x : x.padEnd(widths[i]!))).join('  ');
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}
