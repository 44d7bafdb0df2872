// The schedules view's rows (src/tui/schedule-presenters.ts): next run in the schedule's zone and the operator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScheduleRecord } from '../../src/core/schedule.ts';
import { lastResultText, nextRunText, scheduleRows, scheduleTable } from '../../src/tui/schedule-presenters.ts';
import { displayWidth } from '../../src/tui/text.ts';

const NOW = new Date('2026-03-28T12:00:00Z');

function schedule(over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: 'sch-20260301-000000-abcdef',
    source: 'old/media',
    dest: 'new/media',
    migrate: {},
    when: { kind: 'cron', expression: '30 2 * * *', tz: 'Europe/Berlin' },
    missed: 'once',
    paused: false,
    createdAt: '2026-03-01T00:00:00Z',
    updatedAt: '2026-03-01T00:00:00Z',
    lastScheduledFor: '2026-03-28T01:30:00Z',
    runs: [],
    ...over,
  };
}

test('next run: in the schedule zone, and the operator zone when it differs (across the spring-forward night)', () => {
  // 02:30 does not exist in Berlin on 2026-03-29: the run is at the transition, 03:00 CEST (01:00 UTC).
  assert.equal(nextRunText(schedule(), NOW, 'UTC'), '2026-03-29 03:00 CEST = 01:00 UTC');
  assert.equal(nextRunText(schedule(), NOW, 'Pacific/Honolulu'), '2026-03-29 03:00 CEST = 2026-03-28 15:00 HST', 'another day here: both dates');
  assert.equal(nextRunText(schedule(), NOW, 'Europe/Berlin'), '2026-03-29 03:00 CEST');
  assert.equal(nextRunText(schedule({ paused: true }), NOW, 'UTC'), 'paused');
  const once = schedule({ when: { kind: 'once', at: '2026-03-28T13:00:00Z' }, lastScheduledFor: undefined });
  assert.equal(nextRunText(once, NOW, 'UTC'), '2026-03-28 13:00 UTC');
  assert.equal(nextRunText({ ...once, done: true }, NOW, 'UTC'), 'done');
  const overdue = schedule({ when: { kind: 'once', at: '2026-03-28T11:59:00Z' }, lastScheduledFor: undefined });
  assert.equal(nextRunText(overdue, NOW, 'UTC'), '2026-03-28 11:59 UTC (due)');
});

test('last result and rows; the table fits the width with wide characters', () => {
  assert.equal(lastResultText(schedule()), 'never ran');
  const ran = schedule({
    runs: [
      { scheduledFor: '2026-03-27T01:30:00Z', state: 'completed-with-differences', jobId: 'j1', exitCode: 1 },
      { scheduledFor: '2026-03-28T01:30:00Z', state: 'skipped' },
    ],
  });
  assert.equal(lastResultText(ran), 'completed-with-differences exit 1');
  const rows = scheduleRows(
    [
      { record: ran, running: false },
      { record: schedule({ id: 'sch-b', source: 'old/写真', paused: true }), running: false },
      { record: schedule({ id: 'sch-c' }), running: true },
    ],
    NOW,
    'UTC',
  );
  assert.deepEqual(
    rows.map((r) => r[1]),
    ['active', 'paused', '● running'],
  );
  assert.equal(rows[0]![3], 'cron "30 2 * * *" in Europe/Berlin');
  const table = scheduleTable([{ record: schedule({ source: 'old/写真😀' }), running: false }], NOW, 'UTC', 100);
  assert.ok(displayWidth(table.header) <= 100);
  for (const l of table.lines) assert.ok(displayWidth(l) <= 100, l);
});
