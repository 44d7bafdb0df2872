import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3migError } from '../../src/core/errors.ts';
import {
  GRACE_MS,
  checkCron,
  describeWhen,
  due,
  formatInZone,
  newScheduleId,
  nextRun,
  parseAt,
  recordRun,
  sameDestination,
  settleDue,
  type DestKey,
  type ScheduleRecord,
  type ScheduleWhen,
} from '../../src/core/schedule.ts';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

function schedule(when: ScheduleWhen, over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: 'sch-20260101-000000-abcdef',
    source: 'src/bucket',
    dest: 'dst/bucket',
    migrate: {},
    when,
    missed: 'once',
    paused: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    runs: [],
    ...over,
  };
}

const cron = (expression: string, tz: string): ScheduleWhen => ({ kind: 'cron', expression, tz });

/**
 * A scheduler from `from` to `to`: it looks every `stepMs` and 20 s after each next run, and deals with what is
 * due. Returns the fired occurrences; nothing may be skipped on the way (every occurrence seen on time).
 */
function simulate(s: ScheduleRecord, from: string, to: string, stepMs: number): string[] {
  const fired: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); ) {
    const now = new Date(t);
    const d = due(s, now);
    assert.equal(d.skippedCount, 0, `nothing skipped at ${now.toISOString()}`);
    if (d.fire) {
      assert.ok(t - d.fire.getTime() <= GRACE_MS, 'fired on time');
      fired.push(d.fire.toISOString());
    }
    s = settleDue(s, d);
    const next = nextRun(s, now);
    t = Math.min(t + stepMs, next ? Math.max(t + 1, next.getTime() + 20_000) : Infinity);
  }
  return fired;
}

function usageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3migError);
    assert.equal(err.code, 'S3MIG_USAGE');
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

test('schedule ids carry the UTC time and 6 hex digits', () => {
  assert.equal(newScheduleId(at('2026-03-29T01:02:03.456Z'), () => 0), 'sch-20260329-010203-000000');
  assert.equal(newScheduleId(at('2026-12-31T23:59:59Z'), () => 0.9999999999), 'sch-20261231-235959-ffffff');
  assert.match(newScheduleId(at('2026-01-01T00:00:00Z')), /^sch-20260101-000000-[0-9a-f]{6}$/);
});

test('parseAt takes ISO 8601 with an offset in the future, and names the value when refusing', () => {
  const now = at('2026-06-01T12:00:00Z');
  assert.equal(iso(parseAt('2026-12-01T02:00:00+01:00', now)), '2026-12-01T01:00:00.000Z');
  assert.equal(iso(parseAt('2026-12-01T02:00:00Z', now)), '2026-12-01T02:00:00.000Z');
  assert.equal(iso(parseAt('2026-12-01T02:00-05:00', now)), '2026-12-01T07:00:00.000Z');
  assert.equal(iso(parseAt('2026-12-01T02:00:00.250+0530', now)), '2026-11-30T20:30:00.250Z');
  usageError(() => parseAt('2026-12-01T02:00:00', now), /"2026-12-01T02:00:00" has no UTC offset/);
  usageError(() => parseAt('tomorrow', now), /"tomorrow" is not an ISO 8601/);
  usageError(() => parseAt('2026-02-30T02:00:00Z', now), /"2026-02-30T02:00:00Z" is not a real date/);
  usageError(() => parseAt('2026-12-01T24:00:00Z', now), /not a real date/);
  usageError(() => parseAt('2026-01-01T00:00:00Z', now), /"2026-01-01T00:00:00Z" is not in the future/);
  usageError(() => parseAt('2026-06-01T14:00:00+02:00', now), /is not in the future/); // exactly now
});

test('checkCron refuses unknown zones, bad expressions and a seconds field', () => {
  checkCron('30 2 * * *', 'Europe/Berlin');
  checkCron('*/15 9-17 * * MON-FRI', 'America/New_York');
  checkCron('@daily', 'UTC');
  usageError(() => checkCron('30 2 * * *', 'Mars/Olympus_Mons'), /unknown time zone "Mars\/Olympus_Mons"/);
  usageError(() => checkCron('30 2 * * *', ''), /unknown time zone ""/);
  usageError(() => checkCron('0 30 2 * * *', 'Europe/Berlin'), /"0 30 2 \* \* \*" has 6 fields: a seconds field is not supported/);
  usageError(() => checkCron('0 30 2 * * * 2027', 'Europe/Berlin'), /has 7 fields/);
  usageError(() => checkCron('30 2 * *', 'Europe/Berlin'), /has 4 field\(s\); use 5 fields/);
  usageError(() => checkCron('61 2 * * *', 'Europe/Berlin'), /invalid cron expression "61 2 \* \* \*": .*minute/i);
  usageError(() => checkCron('*/0 * * * *', 'Europe/Berlin'), /invalid cron expression/);
  usageError(() => checkCron('0 0 30 2 *', 'Europe/Berlin'), /"0 0 30 2 \*" never fires/);
});

test('a daily 02:30 job fires once on the spring-forward day, at 03:00 local (Europe/Berlin)', () => {
  const s = schedule(cron('30 2 * * *', 'Europe/Berlin'), { createdAt: '2026-03-27T12:00:00Z' });
  const fired = simulate(s, '2026-03-27T12:00:00Z', '2026-03-30T12:00:00Z', 600_000);
  assert.deepEqual(fired, ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  assert.equal(formatInZone(at(fired[1]!), 'Europe/Berlin'), '2026-03-29 03:00 CEST');
});

test('a daily 02:30 job fires once on the fall-back day, at the first 02:30 (Europe/Berlin)', () => {
  const s = schedule(cron('30 2 * * *', 'Europe/Berlin'), { createdAt: '2026-10-23T12:00:00Z' });
  const fired = simulate(s, '2026-10-23T12:00:00Z', '2026-10-26T12:00:00Z', 600_000);
  assert.deepEqual(fired, ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  assert.equal(formatInZone(at(fired[1]!), 'Europe/Berlin'), '2026-10-25 02:30 CEST');
});

test('daily jobs across both changes in America/New_York: 02:30 in the gap, 01:30 in the repeated hour', () => {
  const spring = schedule(cron('30 2 * * *', 'America/New_York'), { createdAt: '2026-03-07T00:00:00Z' });
  const springFired = simulate(spring, '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z', 600_000);
  assert.deepEqual(springFired, ['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z']);
  assert.equal(formatInZone(at(springFired[1]!), 'America/New_York'), '2026-03-08 03:00 EDT');

  const fall = schedule(cron('30 1 * * *', 'America/New_York'), { createdAt: '2026-10-31T00:00:00Z' });
  const fallFired = simulate(fall, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z', 600_000);
  assert.deepEqual(fallFired, ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  assert.equal(formatInZone(at(fallFired[1]!), 'America/New_York'), '2026-11-01 01:30 EDT');
});

test('an hourly job runs every real hour across the fall-back hour, both passes of it, never twice in one', () => {
  const s = schedule(cron('0 * * * *', 'Europe/Berlin'), { createdAt: '2026-10-24T21:30:00Z' });
  const fired = simulate(s, '2026-10-24T21:30:00Z', '2026-10-25T04:30:00Z', 600_000);
  assert.deepEqual(fired, [
    '2026-10-24T22:00:00.000Z',
    '2026-10-24T23:00:00.000Z',
    '2026-10-25T00:00:00.000Z',
    '2026-10-25T01:00:00.000Z',
    '2026-10-25T02:00:00.000Z',
    '2026-10-25T03:00:00.000Z',
    '2026-10-25T04:00:00.000Z',
  ]);
  assert.deepEqual(
    fired.slice(2, 5).map((f) => formatInZone(at(f), 'Europe/Berlin')),
    ['2026-10-25 02:00 CEST', '2026-10-25 02:00 CET', '2026-10-25 03:00 CET'],
  );
});

test('a restart after two days off with policy once: one run for everything missed, the rest skipped with a count', () => {
  const s = schedule(cron('0 * * * *', 'Europe/Berlin'), { lastScheduledFor: '2026-06-01T10:00:00.000Z' });
  const now = at('2026-06-03T10:20:00Z'); // 48 hourly occurrences missed, the latest 20 minutes ago
  const d = due(s, now);
  assert.equal(iso(d.fire), '2026-06-03T10:00:00.000Z');
  assert.equal(d.skippedCount, 47);
  assert.equal(d.skippedCountEstimated, undefined);
  assert.deepEqual(d.skipped.map(iso), Array.from({ length: 10 }, (_, i) => `2026-06-03T${String(i).padStart(2, '0')}:00:00.000Z`));
  assert.equal(iso(d.lastScheduledFor), '2026-06-03T10:00:00.000Z');

  const after = settleDue(s, d);
  assert.equal(after.lastScheduledFor, '2026-06-03T10:00:00.000Z');
  assert.equal(after.runs.filter((r) => r.state === 'skipped').length, 10);
  assert.deepEqual(due(after, now), { skipped: [], skippedCount: 0 }, 'nothing is run twice');
  assert.equal(iso(nextRun(after, now)), '2026-06-03T11:00:00.000Z');
});

test('a restart after two days off with policy skip: nothing fired, everything skipped', () => {
  const s = schedule(cron('0 * * * *', 'Europe/Berlin'), { missed: 'skip', lastScheduledFor: '2026-06-01T10:00:00.000Z' });
  const d = due(s, at('2026-06-03T10:20:00Z'));
  assert.equal(d.fire, undefined);
  assert.equal(d.skippedCount, 48);
  assert.equal(d.skipped.length, 10);
  assert.equal(iso(d.skipped.at(-1)), '2026-06-03T10:00:00.000Z');
  assert.equal(iso(d.lastScheduledFor), '2026-06-03T10:00:00.000Z');
  // The next occurrence, seen on time, fires.
  const next = due(settleDue(s, d), at('2026-06-03T11:00:30Z'));
  assert.equal(iso(next.fire), '2026-06-03T11:00:00.000Z');
  assert.equal(next.skippedCount, 0);
});

test('an on-time occurrence after missed ones fires (whatever the policy) and the missed ones are skipped', () => {
  for (const missed of ['once', 'skip'] as const) {
    const s = schedule(cron('0 */6 * * *', 'UTC'), { missed, lastScheduledFor: '2026-06-01T00:00:00.000Z' });
    const d = due(s, at('2026-06-02T12:00:40Z'));
    assert.equal(iso(d.fire), '2026-06-02T12:00:00.000Z', missed);
    assert.deepEqual(d.skipped.map(iso), ['2026-06-01T06:00:00.000Z', '2026-06-01T12:00:00.000Z', '2026-06-01T18:00:00.000Z', '2026-06-02T00:00:00.000Z', '2026-06-02T06:00:00.000Z']);
    assert.equal(d.skippedCount, 5);
  }
});

test('an occurrence just past the grace period is missed', () => {
  const s = schedule(cron('0 12 * * *', 'UTC'), { missed: 'skip', createdAt: '2026-06-01T00:00:00Z' });
  assert.equal(iso(due(s, at('2026-06-01T12:01:00Z')).fire), '2026-06-01T12:00:00.000Z');
  const late = due(s, at('2026-06-01T12:01:00.001Z'));
  assert.equal(late.fire, undefined);
  assert.equal(late.skippedCount, 1);
});

test('nothing before createdAt or lastScheduledFor is due; the next run comes after them', () => {
  const s = schedule(cron('0 12 * * *', 'UTC'), { createdAt: '2026-06-01T12:00:00Z' });
  assert.deepEqual(due(s, at('2026-06-01T12:00:30Z')), { skipped: [], skippedCount: 0 });
  assert.equal(iso(nextRun(s, at('2026-06-01T12:00:30Z'))), '2026-06-02T12:00:00.000Z');
  const later = { ...s, lastScheduledFor: '2026-06-05T12:00:00.000Z' };
  assert.equal(iso(nextRun(later, at('2026-06-01T12:00:30Z'))), '2026-06-06T12:00:00.000Z');
});

test('more missed occurrences than the walk covers: the latest fire, the count is estimated', () => {
  const s = schedule(cron('* * * * *', 'UTC'), { createdAt: '2026-01-01T00:00:30Z' });
  const d = due(s, at('2026-01-31T00:00:10Z')); // every minute for 30 days: 43,200 occurrences
  assert.equal(iso(d.fire), '2026-01-31T00:00:00.000Z');
  assert.equal(d.skippedCountEstimated, true);
  assert.ok(Math.abs(d.skippedCount - 43_199) <= 1, `skippedCount ${d.skippedCount}`);
  assert.equal(d.skipped.length, 10);
  assert.equal(iso(d.skipped.at(-1)), '2026-01-30T23:59:00.000Z');
});

test('a one-shot on time fires once and never again', () => {
  const s = schedule({ kind: 'once', at: '2026-12-01T02:00:00+01:00' }, { createdAt: '2026-11-01T00:00:00Z' });
  assert.deepEqual(due(s, at('2026-12-01T00:59:59Z')), { skipped: [], skippedCount: 0 });
  assert.equal(iso(nextRun(s, at('2026-11-02T00:00:00Z'))), '2026-12-01T01:00:00.000Z');
  const d = due(s, at('2026-12-01T01:00:20Z'));
  assert.equal(iso(d.fire), '2026-12-01T01:00:00.000Z');
  const after = settleDue(s, d);
  assert.equal(after.done, true);
  assert.equal(nextRun(after, at('2026-12-01T01:00:20Z')), undefined);
  assert.deepEqual(due(after, at('2026-12-01T01:00:30Z')), { skipped: [], skippedCount: 0 });
  assert.deepEqual(due(after, at('2027-12-01T01:00:00Z')), { skipped: [], skippedCount: 0 }, 'not a year later either');
  // Even without done, an occurrence at or before lastScheduledFor is dealt with.
  assert.equal(due({ ...after, done: false }, at('2027-12-01T01:00:00Z')).fire, undefined);
});

test('a missed one-shot fires late with policy once, is skipped with policy skip', () => {
  const s = schedule({ kind: 'once', at: '2026-12-01T02:00:00+01:00' }, { createdAt: '2026-11-01T00:00:00Z' });
  const late = at('2026-12-03T09:00:00Z');
  const once = due(s, late);
  assert.equal(iso(once.fire), '2026-12-01T01:00:00.000Z');
  assert.equal(once.skippedCount, 0);
  const skip = due({ ...s, missed: 'skip' }, late);
  assert.equal(skip.fire, undefined);
  assert.deepEqual(skip.skipped.map(iso), ['2026-12-01T01:00:00.000Z']);
  const settled = settleDue({ ...s, missed: 'skip' }, skip);
  assert.equal(settled.done, true);
  assert.deepEqual(settled.runs, [{ scheduledFor: '2026-12-01T01:00:00.000Z', state: 'skipped' }]);
});

test('a paused schedule has nothing due, but its next run is still shown', () => {
  const s = schedule(cron('0 * * * *', 'UTC'), { paused: true, lastScheduledFor: '2026-06-01T10:00:00.000Z' });
  assert.deepEqual(due(s, at('2026-06-03T10:00:10Z')), { skipped: [], skippedCount: 0 });
  assert.equal(iso(nextRun(s, at('2026-06-03T10:00:10Z'))), '2026-06-01T11:00:00.000Z');
  const one = schedule({ kind: 'once', at: '2026-06-01T12:00:00Z' }, { paused: true });
  assert.deepEqual(due(one, at('2026-06-01T12:00:10Z')), { skipped: [], skippedCount: 0 });
});

test('sameDestination: endpoints normalised, buckets exact, prefixes overlap as strings', () => {
  const d = (endpoint: string, bucket: string, prefix: string): DestKey => ({ endpoint, bucket, prefix });
  const cases: [DestKey, DestKey, boolean, string][] = [
    [d('https://s3.example.com', 'b', ''), d('https://s3.example.com', 'b', ''), true, 'identical'],
    [d('https://S3.Example.COM/', 'b', ''), d('https://s3.example.com', 'b', ''), true, 'case and trailing slash'],
    [d('https://s3.example.com:443', 'b', ''), d('https://s3.example.com', 'b', ''), true, 'https default port'],
    [d('http://s3.example.com:80/', 'b', ''), d('http://s3.example.com', 'b', ''), true, 'http default port'],
    [d('http://s3.example.com:443', 'b', ''), d('http://s3.example.com', 'b', ''), false, ':443 is not http default'],
    [d('https://s3.example.com:9000', 'b', ''), d('https://s3.example.com', 'b', ''), false, 'other port'],
    [d('https://s3.example.com', 'b', ''), d('https://s3.other.com', 'b', ''), false, 'other host'],
    [d('https://s3.example.com', 'b', ''), d('https://s3.example.com', 'c', ''), false, 'other bucket'],
    [d('https://s3.example.com', 'b', ''), d('https://s3.example.com', 'b', 'x/y/'), true, "'' overlaps everything"],
    [d('https://s3.example.com', 'b', 'a/'), d('https://s3.example.com', 'b', 'a/b/'), true, "'a/' holds 'a/b/'"],
    [d('https://s3.example.com', 'b', 'a/b/'), d('https://s3.example.com', 'b', 'a/'), true, 'either way round'],
    [d('https://s3.example.com', 'b', 'a/'), d('https://s3.example.com', 'b', 'ab/'), false, "'a/' and 'ab/' are apart"],
    [d('https://s3.example.com', 'b', 'a'), d('https://s3.example.com', 'b', 'ab/'), true, "prefix 'a' holds key 'ab/x'"],
    [d('127.0.0.1:9000/', 'b', ''), d('127.0.0.1:9000', 'b', ''), true, 'no scheme: text without trailing slash'],
  ];
  for (const [a, b, expected, what] of cases) assert.equal(sameDestination(a, b), expected, what);
});

test('formatInZone shows local time with the zone abbreviation', () => {
  const cases: [string, string, string][] = [
    ['2026-03-29T01:00:00Z', 'Europe/Berlin', '2026-03-29 03:00 CEST'],
    ['2026-01-15T23:30:00Z', 'Europe/Berlin', '2026-01-16 00:30 CET'],
    ['2026-07-01T16:05:00Z', 'America/New_York', '2026-07-01 12:05 EDT'],
    ['2026-01-01T05:00:00Z', 'America/New_York', '2026-01-01 00:00 EST'],
    ['2026-07-01T12:00:00Z', 'Europe/London', '2026-07-01 13:00 BST'],
    ['2026-07-01T12:00:00Z', 'UTC', '2026-07-01 12:00 UTC'],
    ['2026-07-01T12:00:00Z', 'Asia/Kolkata', '2026-07-01 17:30 GMT+5:30'],
  ];
  for (const [when, tz, expected] of cases) assert.equal(formatInZone(at(when), tz), expected, tz);
});

test('describeWhen names the time or the expression and zone', () => {
  assert.equal(describeWhen({ kind: 'once', at: '2026-12-01T02:00:00+01:00' }), 'once at 2026-12-01T02:00:00+01:00');
  assert.equal(describeWhen(cron('30 2 * * *', 'Europe/Berlin')), 'cron "30 2 * * *" in Europe/Berlin');
});

test('recordRun appends, replaces the run of the same occurrence in place, keeps the last 50, copies', () => {
  const s = schedule(cron('* * * * *', 'UTC'));
  const one = recordRun(s, { scheduledFor: 'A', state: 'starting' });
  assert.deepEqual(s.runs, [], 'the input is not changed');
  const two = recordRun(one, { scheduledFor: 'B', state: 'starting' });
  const replaced = recordRun(two, { scheduledFor: 'A', state: 'completed', exitCode: 0 });
  assert.deepEqual(replaced.runs, [{ scheduledFor: 'A', state: 'completed', exitCode: 0 }, { scheduledFor: 'B', state: 'starting' }]);
  let many = s;
  for (let i = 0; i < 60; i++) many = recordRun(many, { scheduledFor: `r${i}`, state: 'skipped' });
  assert.equal(many.runs.length, 50);
  assert.equal(many.runs[0]!.scheduledFor, 'r10');
  assert.equal(many.runs.at(-1)!.scheduledFor, 'r59');
});
