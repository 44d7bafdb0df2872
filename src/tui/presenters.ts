// Pure presenters of the TUI: job views, job lists, differences and the keymap turned into plain text rows that the screens only place.
//
// Every string that comes from data (keys, specs, reasons, log messages, ETags) goes through `sanitize`, so
// no data reaches the terminal as control characters. The rows are plain text, not blessed tags: a screen
// that shows them in an element with `tags: true` escapes them with `escapeTags` first.
import type { JobState } from '../core/job-state.ts';
import { isTerminal } from '../core/job-state.ts';
import type { TargetRecord } from '../core/job-record.ts';
import type { EntrySnapshot } from '../core/entry.ts';
import type { ReviewMark } from '../core/summary.ts';
import type { CategoryCounts } from '../core/tally.ts';
import { CATEGORIES, CATEGORY_LABEL, FAILING_CATEGORIES, isPlainEtag, type Category } from '../core/verdict.ts';
import { formatBytes, formatCount, formatDuration } from '../cli/format.ts';
import { bindingsFor, keyLabel, type ActionName, type Scope } from './keymap.ts';
import { columns, displayWidth, pad, sanitize, truncate, truncateMiddle } from './text.ts';
import { currentPhase, etaSeconds, type InventoryView, type JobListItem, type JobView, type Phase } from './view-model.ts';

/** A progress gauge: its label, how full it is, and the words beside it. */
export interface Gauge {
  label: string;
  /** 0..1; undefined when the total is unknown. */
  ratio: number | undefined;
  /** e.g. '12,345 / 20,000 objects  61%' */
  text: string;
}

export { CATEGORY_LABEL };

const PHASE_LABEL: Record<Phase, string> = {
  transfer: 'transfer',
  inventory: 'inventory',
  compare: 'comparison',
  fix: 'fix',
  report: 'report',
  done: 'done',
  idle: 'idle',
};

function msOf(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

const two = (n: number) => String(n).padStart(2, '0');

/** An ISO time as local 'YYYY-MM-DD HH:MM' ('-' when it is not a time). */
export function localDateTime(iso: string | undefined): string {
  const ms = msOf(iso);
  if (ms === undefined) return '-';
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** An ISO time as local 'HH:MM:SS'. */
export function localTime(iso: string | undefined): string {
  const ms = msOf(iso);
  if (ms === undefined) return '--:--:--';
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Seconds left as an operator reads them: '45s', '3m12s', '2h05m'. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}

function percent(ratio: number): string {
  return `${Math.floor(ratio * 100)}%`;
}

/** A ratio of a running count to an estimate, never full before the end. */
function partial(n: number, total: number): number {
  return Math.min(0.99, Math.max(0, n / total));
}

function endpointHost(endpoint: string): string {
  return endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
}

/** A target in one line: its spec, and for a live one where it resolved (endpoint/bucket/prefix). */
export function targetText(t: TargetRecord | undefined, detail = true): string {
  if (!t) return '?';
  const spec = sanitize(t.spec);
  if (!detail || t.kind !== 'live' || !t.endpoint) return spec;
  const where = [endpointHost(t.endpoint), t.bucket, t.prefix].filter((x): x is string => !!x).join('/');
  return `${spec} (${sanitize(where)})`;
}

function stateText(view: Pick<JobView, 'state' | 'pausedIn'>): string {
  return view.state === 'paused' && view.pausedIn ? `paused in ${view.pausedIn}` : view.state;
}

function elapsedMs(view: JobView, nowMs: number): number | undefined {
  const start = msOf(view.startedAt);
  if (start === undefined) return undefined;
  const end = msOf(view.finishedAt) ?? nowMs;
  return Math.max(0, end - start);
}

/**
 * The dashboard's header: job, kind, state (and why), elapsed; 'source → dest'; engine and strategy (and
 * why). Three lines, each at most `width` columns.
 */
export function headerLines(view: JobView, nowMs: number, width: number): string[] {
  const elapsed = elapsedMs(view, nowMs);
  const headOf = (state: string) => [sanitize(view.jobId), view.kind ?? '', state].filter((x) => x !== '').join('  ');
  const tail = elapsed === undefined ? '' : `  elapsed ${formatDuration(Math.round(elapsed))}`;
  let line1 = headOf(stateText(view)) + tail;
  if (view.stateReason) {
    // The reason gets what the rest leaves, so a long one never cuts off the elapsed time; on a narrow
    // screen a pause's phase gives way to its reason (the gauges show the phase too).
    const roomWith = (head: string) => width - displayWidth(head) - displayWidth(tail) - 3;
    let head = headOf(stateText(view));
    if (roomWith(head) < 12) head = headOf(view.state);
    const room = roomWith(head);
    if (room >= 4) line1 = `${head} (${truncate(sanitize(view.stateReason), room)})${tail}`;
  }
  let line2 = `${targetText(view.source)} → ${targetText(view.dest)}`;
  if (displayWidth(line2) > width) line2 = `${targetText(view.source, false)} → ${targetText(view.dest, false)}`;
  if (displayWidth(line2) > width) {
    // Specs cut in their middles, so the destination is never cut off the line: each gets up to half,
    // and what one does not need goes to the other.
    const src = targetText(view.source, false);
    const dst = targetText(view.dest, false);
    const room = Math.max(2, width - 3);
    const dstW = Math.min(displayWidth(dst), Math.ceil(room / 2));
    const srcW = Math.min(displayWidth(src), room - dstW);
    line2 = `${truncateMiddle(src, srcW)} → ${truncateMiddle(dst, room - srcW)}`;
  }
  const parts: string[] = [];
  if (view.engine) parts.push(`engine ${view.engine}`);
  if (view.strategy) parts.push(`strategy ${sanitize(view.strategy.name)}: ${sanitize(view.strategy.reason)}`);
  return [line1, line2, parts.join('  ')].map((l) => truncate(l, width));
}

/** What a gauge shows for a phase with no progress yet: done for a completed job, else waiting. */
function notStarted(view: JobView, label: string): Gauge {
  if (view.state === 'completed' || view.state === 'completed-with-differences') return { label, ratio: 1, text: 'done' };
  if (view.state !== 'unknown' && isTerminal(view.state)) return { label, ratio: undefined, text: '-' };
  return { label, ratio: undefined, text: 'waiting' };
}

function inventoryGauge(view: JobView, side: InventoryView, label: string): Gauge {
  if (!side.done && side.entries === 0 && side.rangesTotal === undefined && side.totalBytes === undefined) return notStarted(view, label);
  let ratio: number | undefined;
  if (side.done) ratio = 1;
  else if (side.totalBytes !== undefined && side.totalBytes > 0) ratio = partial(side.inputBytes ?? 0, side.totalBytes);
  else if (side.total !== undefined && side.total > 0) ratio = partial(side.entries, side.total);
  else if (side.rangesTotal !== undefined && side.rangesTotal > 0) ratio = partial(side.rangesDone ?? 0, side.rangesTotal);
  const parts = [`${formatCount(side.entries)}${side.total !== undefined && !side.done ? ` / ~${formatCount(side.total)}` : ''} entries`];
  if (ratio !== undefined) parts.push(percent(ratio));
  if (side.rangesTotal !== undefined && !side.done) parts.push(`${formatCount(side.rangesDone ?? 0)}/${formatCount(side.rangesTotal)} ranges`);
  parts.push(formatBytes(side.bytes));
  if (!side.done && side.rate > 0) parts.push(`${formatCount(Math.round(side.rate))}/s`);
  return { label, ratio, text: parts.join('  ') };
}

/**
 * The dashboard's gauges: transfer objects and bytes (migrations), each side's inventory, the comparison,
 * and the fix when one ran. Ratio undefined when the total is unknown; 1 when done.
 */
export function gauges(view: JobView): Gauge[] {
  const out: Gauge[] = [];
  const t = view.transfer;
  if (t) {
    const known = t.done || t.totalObjects > 0;
    const ratio = t.done ? 1 : t.totalObjects > 0 ? partial(t.objects, t.totalObjects) : undefined;
    const noun = t.engine === 'mc' ? 'started' : 'objects';
    const parts = [known ? `${formatCount(t.objects)} / ${formatCount(t.totalObjects)} ${noun}` : `${formatCount(t.objects)} ${noun}`];
    if (ratio !== undefined) parts.push(percent(ratio));
    if (t.failed > 0) parts.push(`${formatCount(t.failed)} failed`);
    if (t.skipped > 0) parts.push(`${formatCount(t.skipped)} ${t.engine === 'mc' ? 'skipped' : 'done earlier'}`);
    out.push({ label: 'transfer', ratio, text: parts.join('  ') });
    const bytesKnown = t.done || t.totalBytes > 0;
    const bRatio = t.done ? 1 : t.totalBytes > 0 ? partial(t.bytes, t.totalBytes) : undefined;
    const bParts = [bytesKnown ? `${formatBytes(t.bytes)} / ${formatBytes(t.totalBytes)}` : formatBytes(t.bytes)];
    if (bRatio !== undefined) bParts.push(percent(bRatio));
    if (!t.done && t.rate > 0) bParts.push(`${formatBytes(Math.round(t.rate))}/s`);
    out.push({ label: 'bytes', ratio: bRatio, text: bParts.join('  ') });
  } else if (view.kind === 'migrate') {
    out.push(notStarted(view, 'transfer'), notStarted(view, 'bytes'));
  }
  out.push(inventoryGauge(view, view.inventory.source, 'source'));
  out.push(inventoryGauge(view, view.inventory.dest, 'destination'));
  const c = view.compare;
  if (c.done || c.keys > 0 || c.totalEntries > 0) {
    const ratio = c.done ? 1 : c.totalEntries > 0 ? partial(c.entries, c.totalEntries) : undefined;
    const parts = [`${formatCount(c.keys)} keys`];
    if (ratio !== undefined) parts.push(percent(ratio));
    if (c.totalEntries > 0) parts.push(`${formatCount(c.entries)} / ${formatCount(c.totalEntries)} entries`);
    if (!c.done && c.rate > 0) parts.push(`${formatCount(Math.round(c.rate))}/s`);
    out.push({ label: 'comparison', ratio, text: parts.join('  ') });
  } else {
    out.push(notStarted(view, 'comparison'));
  }
  const f = view.fix;
  if (f) {
    const ratio = f.done ? 1 : f.total > 0 ? partial(f.processed, f.total) : undefined;
    const parts = [`${formatCount(f.processed)} / ${formatCount(f.total)} actions`];
    if (ratio !== undefined) parts.push(percent(ratio));
    if (f.copied > 0) parts.push(`${formatCount(f.copied)} copied (${formatBytes(f.bytes)})`);
    if (f.deleted > 0) parts.push(`${formatCount(f.deleted)} deleted`);
    if (f.failed > 0) parts.push(`${formatCount(f.failed)} failed`);
    if (f.leftForNative > 0) parts.push(`${formatCount(f.leftForNative)} left for --engine native`);
    out.push({ label: view.fixRound !== undefined ? `fix round ${view.fixRound}` : 'fix', ratio, text: parts.join('  ') });
  }
  return out;
}

/** 'ETA 3m12s (comparison)', 'ETA unknown (inventory)', 'paused, no ETA', 'finished in 41.3 s'. */
export function etaText(view: JobView): string {
  if (view.state !== 'unknown' && isTerminal(view.state)) {
    const start = msOf(view.startedAt);
    const end = msOf(view.finishedAt);
    const verb = view.state === 'failed' ? 'failed after' : view.state === 'canceled' ? 'canceled after' : 'finished in';
    return start !== undefined && end !== undefined ? `${verb} ${formatDuration(Math.max(0, end - start))}` : view.state;
  }
  if (view.state === 'paused') return 'paused, no ETA';
  const phase = currentPhase(view);
  const eta = etaSeconds(view);
  const where = phase === 'idle' ? '' : ` (${PHASE_LABEL[phase]})`;
  return eta === undefined ? `ETA unknown${where}` : `ETA ${formatEta(eta)}${where}`;
}

/**
 * Counts per category, then each side's total: [label, count, bytes]. From the summary when there is one
 * (it has bytes per category), else from the running counts (bytes left empty).
 */
export function countsRows(view: JobView): [string, string, string][] {
  const counts = view.summary?.counts ?? view.counts;
  const bytes = view.summary?.bytes;
  const row = (label: string, k: Category | 'source' | 'dest'): [string, string, string] => [
    label,
    formatCount(counts[k]),
    bytes ? formatBytes(bytes[k]) : '',
  ];
  return [...CATEGORIES.map((c) => row(CATEGORY_LABEL[c], c)), row('source total', 'source'), row('dest total', 'dest')];
}

/** '4 missing, 2 extra, 1 size mismatch' for the failing categories that are not zero ('' when none). */
export function differencesText(counts: CategoryCounts): string {
  return FAILING_CATEGORIES.filter((c) => counts[c] > 0)
    .map((c) => `${formatCount(counts[c])} ${CATEGORY_LABEL[c]}`)
    .join(', ');
}

/** The verdict of a finished job in one line; '' while it runs (or is paused). */
export function outcomeLine(view: JobView): string {
  if (view.state === 'unknown' || !isTerminal(view.state)) return '';
  const counts = view.summary?.counts ?? view.counts;
  const outcome =
    view.summary?.outcome ??
    view.outcome ??
    (view.state === 'completed' ? 'clean' : view.state === 'completed-with-differences' ? 'differences' : undefined);
  if (view.state === 'canceled') return `CANCELED${view.stateReason ? `: ${sanitize(view.stateReason)}` : ''}; the counts are not final`;
  if (view.state === 'failed' && outcome !== 'incomplete') return `FAILED${view.stateReason ? `: ${sanitize(view.stateReason)}` : ''}`;
  const unverified = counts.unverified > 0 ? `; ${formatCount(counts.unverified)} unverified (same size, ETags not comparable)` : '';
  switch (outcome) {
    case 'clean':
      return `CLEAN: every source object is in the destination${unverified}`;
    case 'differences':
      return `DIFFERENCES FOUND: ${differencesText(counts) || 'see the report'}${unverified}`;
    default: {
      const which = view.summary?.incomplete.map((i) => `the ${i.side === 'dest' ? 'destination' : 'source'} listing is incomplete (${sanitize(i.message)})`);
      return `INCOMPLETE: ${which && which.length > 0 ? which.join('; ') : 'a listing failed'}; the counts are not final`;
    }
  }
}

/** A table column: its title, its width (or the rest of the line), alignment, and when it is dropped on a narrow screen. */
export interface TableColumn {
  title: string;
  width: number | 'rest';
  align?: 'right';
  /** Dropped when the screen is too narrow: the highest first. Columns without it always stay. */
  drop?: number;
}

/**
 * The jobs table's columns, in the order of jobRows' cells. STATE is wide enough for a marker and the
 * longest state ('● completed-with-differences'); jobTable narrows it to what the rows hold. At 80
 * columns KIND, ELAPSED and STARTED give way, in that order.
 */
export const JOB_COLUMNS: TableColumn[] = [
  { title: 'JOB', width: 22 },
  { title: 'STATE', width: 28 },
  { title: 'KIND', width: 9, drop: 3 },
  { title: 'SOURCE → DEST', width: 'rest' },
  { title: 'COUNTS', width: 20 },
  { title: 'STARTED', width: 16, drop: 1 },
  { title: 'ELAPSED', width: 8, align: 'right', drop: 2 },
];

const STATE_COLUMN = 1;

/** The least a 'rest' column gets before other columns are dropped. */
export const REST_MIN_WIDTH = 16;

/** Column widths for a line of `width` columns (cells joined by one space); a dropped column gets 0. */
export function fitColumns(cols: readonly TableColumn[], width: number): number[] {
  const kept = cols.map(() => true);
  const widthsFor = (): number[] => {
    const fixed = cols.reduce((n, c, i) => n + (kept[i] && c.width !== 'rest' ? c.width : 0), 0);
    const shown = kept.filter(Boolean).length;
    const rest = Math.max(0, width - fixed - Math.max(0, shown - 1));
    const rests = cols.filter((c, i) => kept[i] && c.width === 'rest').length;
    return cols.map((c, i) => (!kept[i] ? 0 : c.width === 'rest' ? Math.floor(rest / Math.max(1, rests)) : c.width));
  };
  const droppable = cols
    .map((c, i) => ({ i, drop: c.drop }))
    .filter((x): x is { i: number; drop: number } => x.drop !== undefined)
    .sort((a, b) => b.drop - a.drop);
  for (;;) {
    const ws = widthsFor();
    const restShort = cols.some((c, i) => kept[i] && c.width === 'rest' && ws[i]! < REST_MIN_WIDTH);
    const total = ws.reduce((n, w) => n + w, 0) + Math.max(0, ws.filter((w) => w > 0).length - 1);
    if ((!restShort && total <= width) || droppable.length === 0) return ws;
    kept[droppable.shift()!.i] = false;
  }
}

/** A table as text lines of at most `width` columns: the header, then one line per row. */
export function tableLines(cols: readonly TableColumn[], rows: readonly (readonly string[])[], width: number): { header: string; lines: string[] } {
  const widths = fitColumns(cols, width);
  const aligns = cols.map((c) => c.align);
  const line = (cells: readonly string[]) => truncate(columns(cells, widths, aligns), width);
  return { header: line(cols.map((c) => c.title)), lines: rows.map(line) };
}

/** Markers before a job's state in the jobs table: a process runs it, or none does though it was not stopped. */
export const JOB_MARKERS = { live: '●', interrupted: '✗' } as const;

/** Whether a job's record says it runs but no process answers for it: it crashed or was killed (resume it). */
export function isInterrupted(item: Pick<JobListItem, 'record' | 'live'>): boolean {
  const s = item.record.state;
  return !item.live && s !== 'paused' && !isTerminal(s);
}

function countsCell(item: JobListItem): string {
  const v = item.view;
  const counts = v?.summary?.counts ?? (v && (v.compare.keys > 0 || v.compare.done) ? v.counts : undefined) ?? item.record.counts;
  if (!counts) return '-';
  const diff = differencesText(counts);
  if (diff) return diff;
  const state = v && v.state !== 'unknown' ? v.state : item.record.state;
  const unverified = counts.unverified > 0 ? `, ${formatCount(counts.unverified)} unverified` : '';
  return state === 'completed' || state === 'completed-with-differences' ? `clean${unverified}` : `none so far${unverified}`;
}

/**
 * The jobs table's rows (cells in JOB_COLUMNS' order), newest first: id, marker and state, kind,
 * 'source → dest', counts ('12 missing, 3 extra', 'clean', '-'), started (local time), elapsed.
 */
export function jobRows(items: JobListItem[], nowMs: number): string[][] {
  const sorted = [...items].sort((a, b) =>
    a.record.createdAt === b.record.createdAt ? (a.record.id < b.record.id ? 1 : -1) : a.record.createdAt < b.record.createdAt ? 1 : -1,
  );
  return sorted.map((item) => {
    const r = item.record;
    const v = item.view;
    const state: JobState = v && v.state !== 'unknown' ? v.state : r.state;
    const marker = item.live ? JOB_MARKERS.live : isInterrupted(item) ? JOB_MARKERS.interrupted : ' ';
    // A job no process runs stopped (for now) when its record was last written.
    const start = msOf(r.createdAt);
    const end = msOf(v?.finishedAt ?? r.finishedAt) ?? (item.live ? nowMs : msOf(r.updatedAt));
    const elapsed = start !== undefined && end !== undefined ? formatDuration(Math.max(0, end - start)) : '-';
    return [
      sanitize(r.id),
      `${marker} ${state}${r.prunedAt ? ' (pruned)' : ''}`,
      r.kind,
      `${sanitize(r.source.spec)} → ${sanitize(r.dest.spec)}`,
      countsCell(item),
      localDateTime(r.createdAt),
      elapsed,
    ];
  });
}

/** The jobs table fitted to `width`: header and lines; the STATE column only as wide as its widest cell. */
export function jobTable(items: JobListItem[], nowMs: number, width: number): { header: string; lines: string[] } {
  const rows = jobRows(items, nowMs);
  const stateWidth = Math.max(JOB_COLUMNS[STATE_COLUMN]!.title.length, ...rows.map((r) => displayWidth(r[STATE_COLUMN]!)));
  const cols = JOB_COLUMNS.map((c, i) => (i === STATE_COLUMN ? { ...c, width: Math.min(stateWidth, c.width as number) } : c));
  return tableLines(cols, rows, width);
}

export type { ReviewMark };

/** A row of the differences browser: a difference and the operator's review mark. */
export interface DifferenceItem {
  key: string;
  category: Category;
  source: EntrySnapshot | null;
  dest: EntrySnapshot | null;
  mark?: ReviewMark;
}

/** The fixed part of a difference line: '[x] I ' + category (13) + ' ' + sizes (8, 8) + two spaces. */
const CATEGORY_WIDTH = 13;
const SIZE_WIDTH = 8;

function sizeCell(s: EntrySnapshot | null): string {
  return s ? formatBytes(s.size) : '-';
}

/**
 * One line of the differences browser, exactly `width` columns: selection box, mark letter (I, A), category,
 * source and destination sizes, and the key (sanitized, cut in the middle to what is left).
 */
export function differenceLine(row: DifferenceItem, selected: boolean, width: number): string {
  const mark = row.mark === 'ignore' ? 'I' : row.mark === 'accept' ? 'A' : ' ';
  const fixed = `${selected ? '[x]' : '[ ]'} ${mark} ${pad(CATEGORY_LABEL[row.category], CATEGORY_WIDTH)} ${pad(sizeCell(row.source), SIZE_WIDTH, 'right')} ${pad(sizeCell(row.dest), SIZE_WIDTH, 'right')}  `;
  const room = width - displayWidth(fixed);
  return pad(fixed + truncateMiddle(sanitize(row.key), Math.max(0, room)), width);
}

/** Why a key got its category, in plain words, from what both sides hold. */
export function whyText(row: Pick<DifferenceItem, 'category' | 'source' | 'dest'>): string {
  const { source: s, dest: d } = row;
  switch (row.category) {
    case 'missing':
      return 'only in the source';
    case 'extra':
      return 'only in the destination';
    case 'sizeMismatch':
      return `sizes differ: ${formatCount(s?.size ?? 0)} B vs ${formatCount(d?.size ?? 0)} B`;
    case 'etagMismatch':
      return 'same size, both ETags plain MD5s, and they differ';
    case 'matched':
      return s?.size === 0 ? 'both zero bytes' : 'same size and same ETag';
    case 'unverified': {
      const reasons: string[] = [];
      for (const [name, e] of [['source', s], ['destination', d]] as const) {
        if (!e) continue;
        const parts = /-(\d+)$/.exec(e.etag);
        if (e.etag === '') reasons.push(`the ${name} ETag is empty`);
        else if (parts) reasons.push(`the ${name} ETag is multipart (ends -${parts[1]})`);
      }
      if (reasons.length === 0 && s && d && isPlainEtag(s.etag) && isPlainEtag(d.etag)) {
        reasons.push('the objects are encrypted (SSE-KMS or SSE-C), so their ETags are not MD5s of the content');
      }
      return `same size, but the ETags cannot be compared: ${reasons.length > 0 ? reasons.join(' and ') : 'no comparable ETag'}`;
    }
  }
}

const MARK_TEXT: Record<ReviewMark, string> = { ignore: 'ignored', accept: 'accepted' };

function sideLines(name: string, e: EntrySnapshot | null): string[] {
  if (!e) return [`${name.padEnd(14)} absent`];
  return [
    name,
    `  size         ${formatCount(e.size)} B${e.size >= 1024 ? ` (${formatBytes(e.size)})` : ''}`,
    `  ETag         ${e.etag === '' ? '(empty)' : sanitize(e.etag)}`,
    `  modified     ${e.lastModified === '' ? '(unknown)' : sanitize(e.lastModified)}`,
    `  class        ${e.storageClass ? sanitize(e.storageClass) : '-'}`,
  ];
}

/** The detail of one difference: the full key, its category and why, both sides, the review mark. */
export function differenceDetail(row: DifferenceItem, mark: ReviewMark | undefined = row.mark): string[] {
  const shown = sanitize(row.key);
  // Where the screen shows the key simplified (joined emoji, flags), its exact form as a JSON string too.
  const exact = shown !== row.key && !shown.startsWith('"') ? [`exact key      ${JSON.stringify(row.key)}`] : [];
  return [
    `key            ${shown}`,
    ...exact,
    `category       ${CATEGORY_LABEL[row.category]}`,
    `why            ${whyText(row)}`,
    `review mark    ${mark ? MARK_TEXT[mark] : 'none'}`,
    '',
    ...sideLines('source', row.source),
    ...sideLines('destination', row.dest),
  ];
}

/** The fix dialog's text: what will be copied, whether deletes are included (they ask again). */
export function fixDialogText(p: { copies: number; deletes: number; selection: boolean; total: number }): string[] {
  const lines = [
    p.selection ? `Fix the ${formatCount(p.total)} selected difference(s):` : `Fix all ${formatCount(p.total)} difference(s):`,
    `  copy ${formatCount(p.copies)} object(s) from the source to the destination`,
  ];
  if (p.deletes > 0) {
    lines.push(`  delete ${formatCount(p.deletes)} object(s) that exist only in the destination`);
  } else {
    lines.push('  delete nothing (keys only in the destination stay)');
  }
  const other = p.total - p.copies - p.deletes;
  if (other > 0) lines.push(`  ${formatCount(other)} other key(s) get no action`);
  if (p.deletes > 0) lines.push('', 'Deleting needs its own confirmation after this one.');
  return lines;
}

/**
 * The footer for `scope`, from the keymap's footer bindings (global ones first, none in a dialog), cut to
 * `width`. context.canPause names a toggle's current words (true: 'pause', false: 'resume'); context.hide
 * leaves actions out that do not apply.
 */
export function footerText(scope: Scope, width: number, context: { canPause?: boolean; hide?: readonly ActionName[] } = {}): string {
  const own = bindingsFor(scope).filter((b) => b.footer && !context.hide?.includes(b.action));
  const ordered = [...own.filter((b) => b.scope === 'global'), ...own.filter((b) => b.scope !== 'global')];
  const items = ordered.map((b) => {
    const words = b.toggle && context.canPause !== undefined ? b.toggle[context.canPause ? 0 : 1] : b.description;
    return `${keyLabel(b.keys[0]!)} ${words}`;
  });
  return truncate(items.join('  '), width);
}

/** The help overlay's rows for `scope`: [keys, what they do, '!' when dangerous]; the scope's own, then global ones. */
export function helpRows(scope: Scope): [string, string, string][] {
  return bindingsFor(scope).map((b) => [b.keys.map(keyLabel).join(', '), b.help ?? b.description, b.dangerous ? '!' : '']);
}

/** 'HH:MM:SS WARN  message' (local time, message sanitized). */
export function logLine(entry: JobView['log'][number]): string {
  return `${localTime(entry.ts)} ${entry.level.toUpperCase().padEnd(5)} ${sanitize(entry.message)}`;
}

/** The differences browser's filter in words: 'all', 'missing', 'missing, extra'. */
export function filterLabel(categories: readonly Category[] | null): string {
  if (categories === null) return 'all';
  if (categories.length === 0) return 'none';
  return categories.map((c) => CATEGORY_LABEL[c]).join(', ');
}

