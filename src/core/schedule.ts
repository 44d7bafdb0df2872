// Schedules of the scheduler (issue 8), pure: their record, next runs in their own time zone, what is due now.
import { Cron } from 'croner';
import { S3migError } from './errors.ts';

/** What happens to occurrences missed while no scheduler ran: one run for all of them, or none. */
export type MissedPolicy = 'skip' | 'once';

export type ScheduleWhen =
  | { kind: 'once'; at: string /* ISO 8601 with offset, as given */ }
  | { kind: 'cron'; expression: string; tz: string /* IANA */ };

/** A destination as the concurrency rule sees it: resolved endpoint, bucket and prefix. */
export interface DestKey {
  endpoint: string;
  bucket: string;
  prefix: string;
}

/** What a run is started with: the migrate options of the CLI (credentials are never stored: aliases resolve when a run starts). */
export interface ScheduledMigrate {
  overwrite?: boolean;
  fix?: boolean;
  maxFixRounds?: number;
  deleteExtras?: boolean;
  exclude?: string[];
  newerThan?: string;
  olderThan?: string;
  concurrency?: number;
  listConcurrency?: number;
  engine?: 'auto' | 'mc' | 'native';
  limitUpload?: number /* bytes per second */;
  reportDir?: string;
}

export type RunState = 'starting' | 'running' | 'completed' | 'completed-with-differences' | 'failed' | 'canceled' | 'paused' | 'skipped';

export interface ScheduleRun {
  scheduledFor: string;
  state: RunState;
  startedAt?: string;
  jobId?: string;
  finishedAt?: string;
  exitCode?: number;
  error?: string;
  /** the webhook got the summary */
  notified?: boolean;
}

export interface ScheduleRecord {
  id: string;
  source: string;
  dest: string;
  destKey?: DestKey;
  migrate: ScheduledMigrate;
  when: ScheduleWhen;
  missed: MissedPolicy;
  notifyWebhook?: string;
  paused: boolean;
  createdAt: string;
  updatedAt: string;
  /** The last occurrence dealt with (fired or skipped); the next one is computed after it (else after createdAt). */
  lastScheduledFor?: string;
  /** One-shot: fired (or skipped) already: it never fires again. */
  done?: boolean;
  /** Newest last; at most the last 50 kept. */
  runs: ScheduleRun[];
}

/** Runs kept per schedule (newest last). */
export const MAX_RUNS_KEPT = 50;
/** An occurrence older than this when seen is "missed". */
export const GRACE_MS = 60_000;
/** Occurrences walked one by one when deciding what is due; past this the rest is estimated. */
export const MAX_ENUMERATED = 10_000;
/** Skipped occurrences listed in a decision (the latest ones); skippedCount has them all. */
export const MAX_SKIPPED_LISTED = 10;

/** A sortable, unique schedule id from the UTC time: 'sch-YYYYMMDD-HHMMSS-xxxxxx' (6 hex digits). */
export function newScheduleId(now: Date, random: () => number = Math.random): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const hex = Math.min(0xffffff, Math.floor(random() * 0x1000000)).toString(16).padStart(6, '0');
  return `sch-${t}-${hex}`;
}

const ISO_WITH_OPTIONAL_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

type ParsedInstant = { ok: true; date: Date } | { ok: false; reason: 'format' | 'no-offset' | 'range' };

/** An ISO 8601 date and time with a UTC offset (Z, ±hh:mm, ±hhmm or ±hh), every field checked (no 30 February). */
function parseInstant(text: string): ParsedInstant {
  const m = ISO_WITH_OPTIONAL_OFFSET.exec(text.trim());
  if (!m) return { ok: false, reason: 'format' };
  const [, y, mo, d, h, mi, s = '0', frac = '', z, sign, oh, om = '0'] = m;
  if (!z && !sign) return { ok: false, reason: 'no-offset' };
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  const lastDay = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  const offHours = sign ? Number(oh) : 0, offMinutes = sign ? Number(om) : 0;
  if (month < 1 || month > 12 || day < 1 || day > lastDay || hour > 23 || minute > 59 || second > 59 || offHours > 23 || offMinutes > 59) {
    return { ok: false, reason: 'range' };
  }
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const local = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  local.setUTCFullYear(year);
  const offset = (sign === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
  return { ok: true, date: new Date(local.getTime() - offset * 60_000) };
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** The time of --at: ISO 8601 with an offset (Z or ±hh:mm), in the future; anything else is a one-line usage error. */
export function parseAt(text: string, now: Date): Date {
  const parsed = parseInstant(text);
  if (!parsed.ok) {
    const why =
      parsed.reason === 'no-offset'
        ? 'has no UTC offset: add Z or ±hh:mm, e.g. 2026-12-01T02:00:00+01:00'
        : parsed.reason === 'range'
          ? 'is not a real date and time'
          : 'is not an ISO 8601 date and time with an offset, e.g. 2026-12-01T02:00:00+01:00';
    throw new S3migError('S3MIG_USAGE', `time "${text}" ${why}`);
  }
  if (parsed.date.getTime() <= now.getTime()) {
    throw new S3migError('S3MIG_USAGE', `time "${text}" is not in the future (now ${now.toISOString()})`);
  }
  return parsed.date;
}

/** True for an IANA time zone name the runtime knows (Intl.DateTimeFormat throws RangeError for others). */
function isTimeZone(tz: string): boolean {
  if (!tz.trim()) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
}

function cronOf(expression: string, tz: string): Cron {
  // No function given: croner only evaluates, it starts no timer.
  return new Cron(expression, { timezone: tz, mode: '5-part' });
}

/** Refuses an unknown time zone and anything but a 5-field cron expression that fires at some time; one-line S3MIG_USAGE. */
export function checkCron(expression: string, tz: string): void {
  if (!isTimeZone(tz)) {
    throw new S3migError('S3MIG_USAGE', `unknown time zone "${tz}": give an IANA name such as Europe/Berlin or America/New_York`);
  }
  const text = expression.trim();
  const fields = text.split(/\s+/).filter(Boolean);
  const fiveFields = 'use 5 fields: minute hour day-of-month month day-of-week';
  if (fields.length === 6) {
    throw new S3migError('S3MIG_USAGE', `cron expression "${expression}" has 6 fields: a seconds field is not supported; ${fiveFields}`);
  }
  if (fields.length === 7) {
    throw new S3migError('S3MIG_USAGE', `cron expression "${expression}" has 7 fields: seconds and year fields are not supported; ${fiveFields}`);
  }
  if (fields.length !== 5 && !(fields.length === 1 && text.startsWith('@'))) {
    throw new S3migError('S3MIG_USAGE', `cron expression "${expression}" has ${fields.length} field(s); ${fiveFields}`);
  }
  let cron: Cron;
  try {
    cron = cronOf(text, tz);
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, '').replace(/\s*[\r\n]+\s*/g, ' ');
    throw new S3migError('S3MIG_USAGE', `invalid cron expression "${expression}": ${why}`, { cause: err });
  }
  // A fixed reference, not the clock: a 5-field expression fires every year or never (30 February).
  if (!cron.nextRun(new Date(Date.UTC(2000, 0, 1)))) {
    throw new S3migError('S3MIG_USAGE', `cron expression "${expression}" never fires`);
  }
}

/** max(lastScheduledFor, createdAt): occurrences at or before it are dealt with. */
function baseOf(s: ScheduleRecord): Date {
  const created = Date.parse(s.createdAt);
  const last = s.lastScheduledFor === undefined ? NaN : Date.parse(s.lastScheduledFor);
  const base = Math.max(Number.isNaN(created) ? -Infinity : created, Number.isNaN(last) ? -Infinity : last);
  return new Date(Number.isFinite(base) ? base : 0);
}

/** The instant of a one-shot schedule, unless it was dealt with (done, or lastScheduledFor at or past it) or is unreadable. */
function pendingOnce(s: ScheduleRecord & { when: { kind: 'once' } }): Date | undefined {
  if (s.done) return undefined;
  const parsed = parseInstant(s.when.at);
  if (!parsed.ok) return undefined;
  if (s.lastScheduledFor !== undefined && Date.parse(s.lastScheduledFor) >= parsed.date.getTime()) return undefined;
  return parsed.date;
}

/**
 * The next occurrence not yet dealt with: for cron the first after max(lastScheduledFor, createdAt), in the
 * schedule's zone; for a one-shot its time unless done. It may lie before `now` (due, not yet handled: call
 * `due`). `paused` is ignored (the view shows it). Undefined when a one-shot is done or a cron never fires.
 */
export function nextRun(s: ScheduleRecord, now: Date): Date | undefined {
  void now; // the answer depends only on the record: kept in the signature so callers pass their clock
  if (s.when.kind === 'once') return pendingOnce(s as ScheduleRecord & { when: { kind: 'once' } });
  return cronOf(s.when.expression, s.when.tz).nextRun(baseOf(s)) ?? undefined;
}

export interface DueDecision {
  /** the occurrence to start now */
  fire?: Date;
  /** occurrences to record as skipped (at most the last 10; count in skippedCount) */
  skipped: Date[];
  skippedCount: number;
  /** True when more than MAX_ENUMERATED occurrences were missed: skippedCount is then estimated from their spacing. */
  skippedCountEstimated?: boolean;
  /** what to store as dealt with */
  lastScheduledFor?: Date;
}

const NOTHING_DUE: DueDecision = { skipped: [], skippedCount: 0 };

/**
 * What to do now. Paused: nothing. Cron: the occurrences in (max(lastScheduledFor, createdAt), now]; the
 * latest is fired when on time (within GRACE_MS) and the older ones skipped; when all were missed, policy
 * 'once' fires the latest (one run for everything missed) and 'skip' skips them all. One-shot: its time when
 * reached and not done: fired on time, else by the policy. lastScheduledFor is the latest occurrence considered.
 */
export function due(s: ScheduleRecord, now: Date): DueDecision {
  if (s.paused) return { ...NOTHING_DUE, skipped: [] };
  if (s.when.kind === 'once') {
    const at = pendingOnce(s as ScheduleRecord & { when: { kind: 'once' } });
    if (!at || at.getTime() > now.getTime()) return { ...NOTHING_DUE, skipped: [] };
    const onTime = now.getTime() - at.getTime() <= GRACE_MS;
    if (onTime || s.missed === 'once') return { fire: at, skipped: [], skippedCount: 0, lastScheduledFor: at };
    return { skipped: [at], skippedCount: 1, lastScheduledFor: at };
  }
  const found = occurrencesUntil(cronOf(s.when.expression, s.when.tz), baseOf(s), now);
  if (found.count === 0) return { ...NOTHING_DUE, skipped: [] };
  const latest = found.latest[found.latest.length - 1]!;
  const onTime = now.getTime() - latest.getTime() <= GRACE_MS;
  const estimated = found.estimated ? { skippedCountEstimated: true } : {};
  if (onTime || s.missed === 'once') {
    return { fire: latest, skipped: found.latest.slice(0, -1).slice(-MAX_SKIPPED_LISTED), skippedCount: found.count - 1, ...estimated, lastScheduledFor: latest };
  }
  return { skipped: found.latest.slice(-MAX_SKIPPED_LISTED), skippedCount: found.count, ...estimated, lastScheduledFor: latest };
}

/** How many occurrences lie in (after, until], and the latest few of them (oldest first). */
function occurrencesUntil(cron: Cron, after: Date, until: Date): { count: number; latest: Date[]; estimated: boolean } {
  const latest: Date[] = [];
  let count = 0;
  let first: Date | undefined;
  let cursor = after;
  while (count < MAX_ENUMERATED) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > until.getTime()) return { count, latest, estimated: false };
    first ??= next;
    count++;
    latest.push(next);
    if (latest.length > MAX_SKIPPED_LISTED + 1) latest.shift();
    cursor = next;
  }
  // Past the cap: the latest occurrences come from walking back from `until`; the ones between are counted
  // from the mean spacing of those walked (a schedule every minute off for a week is about the cap).
  const walkedLast = cursor;
  const tail = cron
    .previousRuns(MAX_SKIPPED_LISTED + 1, new Date(until.getTime() + 1))
    .filter((d) => d.getTime() > walkedLast.getTime())
    .reverse();
  if (tail.length === 0) return { count, latest, estimated: false };
  const spacing = (walkedLast.getTime() - first!.getTime()) / Math.max(1, count - 1);
  const gap = tail[tail.length - 1]!.getTime() - walkedLast.getTime();
  const rest = Math.max(tail.length, Math.round(gap / Math.max(1, spacing)));
  const merged = [...latest, ...tail].slice(-(MAX_SKIPPED_LISTED + 1));
  return { count: count + rest, latest: merged, estimated: true };
}

/**
 * The record after a decision is dealt with: lastScheduledFor stored, a one-shot marked done, the listed
 * skipped occurrences recorded as 'skipped' runs. The fired run is the caller's to record (state 'starting').
 */
export function settleDue(s: ScheduleRecord, d: DueDecision): ScheduleRecord {
  if (!d.lastScheduledFor) return s;
  let out: ScheduleRecord = { ...s, lastScheduledFor: d.lastScheduledFor.toISOString() };
  if (s.when.kind === 'once') out.done = true;
  for (const at of d.skipped) out = recordRun(out, { scheduledFor: at.toISOString(), state: 'skipped' });
  return out;
}

/** An endpoint compared: lowercased, default ports (:443 for https, :80 for http) and trailing slashes removed. */
function normalizeEndpoint(endpoint: string): string {
  const text = endpoint.trim().toLowerCase();
  if (/^https?:\/\//.test(text)) {
    try {
      const url = new URL(text); // the URL standard drops a scheme's default port
      return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
    } catch {
      // not a URL after all: compared as text below
    }
  }
  return text.replace(/\/+$/, '');
}

/**
 * Whether two destinations are one for the at-most-one-run rule: same endpoint (see normalizeEndpoint),
 * same bucket, and overlapping prefixes. Prefixes are compared as strings, as S3 does: one overlaps the
 * other when it starts with it, so '' overlaps everything, 'a/' overlaps 'a/b/', 'a' overlaps 'ab/'
 * (prefix 'a' holds key 'ab/x'), while 'a/' and 'ab/' do not overlap.
 */
export function sameDestination(a: DestKey, b: DestKey): boolean {
  if (normalizeEndpoint(a.endpoint) !== normalizeEndpoint(b.endpoint)) return false;
  if (a.bucket !== b.bucket) return false;
  return a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
}

const GMT_OFFSET = /^(GMT|UTC)[+-]/;

/** 'YYYY-MM-DD HH:MM ZONE', e.g. '2026-03-29 03:00 CEST': the zone's abbreviation where one exists, else GMT±h. */
export function formatInZone(date: Date, tz: string): string {
  const parts = (locale: string) => {
    const list = new Intl.DateTimeFormat(locale, {
      timeZone: tz,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    }).formatToParts(date);
    const get = (type: Intl.DateTimeFormatPartTypes) => list.find((p) => p.type === type)?.value ?? '';
    return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), zone: get('timeZoneName') };
  };
  const p = parts('en-US');
  // en-US names American zones (EDT), en-GB European ones (CEST, BST); each gives GMT+2 style for the rest.
  let zone = p.zone;
  if (GMT_OFFSET.test(zone)) {
    const gb = parts('en-GB').zone;
    if (gb && !GMT_OFFSET.test(gb)) zone = gb;
  }
  return `${p.y}-${p.mo}-${p.d} ${p.h}:${p.mi} ${zone}`;
}

/** 'once at 2026-12-01T02:00:00+01:00' / 'cron "30 2 * * *" in Europe/Berlin'. */
export function describeWhen(w: ScheduleWhen): string {
  return w.kind === 'once' ? `once at ${w.at}` : `cron "${w.expression}" in ${w.tz}`;
}

/** A copy with the run appended, or replacing the run of the same scheduledFor in place; the last 50 kept. */
export function recordRun(s: ScheduleRecord, run: ScheduleRun): ScheduleRecord {
  const i = s.runs.findIndex((r) => r.scheduledFor === run.scheduledFor);
  const runs = i >= 0 ? s.runs.map((r, j) => (j === i ? run : r)) : [...s.runs, run];
  return { ...s, runs: runs.slice(-MAX_RUNS_KEPT) };
}
