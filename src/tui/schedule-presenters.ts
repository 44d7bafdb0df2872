// The schedules view's text (pure): a row per schedule with its next run in its own zone and the operator's.
import { describeWhen, formatInZone, nextRun, type ScheduleRecord } from '../core/schedule.ts';
import { sanitize } from './text.ts';
import { tableLines, type TableColumn } from './presenters.ts';

export interface ScheduleItem {
  record: ScheduleRecord;
  /** A run of it is in progress (this process's scheduler or another's). */
  running: boolean;
}

/** At 80 columns: id, state and the next run; wider screens add the last result, the time and the targets. */
export const SCHEDULE_COLUMNS: TableColumn[] = [
  { title: 'SCHEDULE', width: 26 },
  { title: 'STATE', width: 9 },
  { title: 'SOURCE → DEST', width: 30, drop: 3 },
  { title: 'WHEN', width: 38, drop: 2 },
  { title: 'NEXT RUN (THERE = HERE)', width: 'rest' },
  { title: 'LAST RESULT', width: 28, drop: 1 },
];

/** The next run in the schedule's zone, and in the operator's when that differs. */
export function nextRunText(s: ScheduleRecord, now: Date, localTz: string): string {
  if (s.paused) return 'paused';
  const next = nextRun(s, now);
  if (!next) return s.done ? 'done' : '-';
  const zone = s.when.kind === 'cron' ? s.when.tz : localTz;
  const own = formatInZone(next, zone);
  const due = next.getTime() <= now.getTime() ? ' (due)' : '';
  if (zone === localTz) return `${own}${due}`;
  const here = formatInZone(next, localTz);
  // The same day in both zones: the date once ('2026-11-30 02:30 EST = 07:30 UTC').
  return `${own} = ${here.slice(0, 10) === own.slice(0, 10) ? here.slice(11) : here}${due}`;
}

export function lastResultText(s: ScheduleRecord): string {
  const last = [...s.runs].reverse().find((r) => r.state !== 'skipped') ?? s.runs[s.runs.length - 1];
  if (!last) return 'never ran';
  const code = last.exitCode !== undefined ? ` exit ${last.exitCode}` : '';
  return `${last.state}${code}`;
}

export function scheduleRows(items: readonly ScheduleItem[], now: Date, localTz: string): string[][] {
  return items.map(({ record: s, running }) => [
    s.id,
    running ? '● running' : s.paused ? 'paused' : s.done ? 'done' : 'active',
    `${sanitize(s.source)} → ${sanitize(s.dest)}`,
    sanitize(describeWhen(s.when)),
    nextRunText(s, now, localTz),
    lastResultText(s),
  ]);
}

export function scheduleTable(items: readonly ScheduleItem[], now: Date, localTz: string, width: number): { header: string; lines: string[] } {
  return tableLines(SCHEDULE_COLUMNS, scheduleRows(items, now, localTz), width);
}
