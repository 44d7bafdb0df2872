// Migration filters (--exclude GLOB, --newer-than, --older-than), applied the same way to the transfer,
// both inventories' comparison and the fix plan, so an excluded key is never reported as missing.
import { S3migError } from './errors.ts';
import type { Verdict } from './reconcile.ts';

export interface KeyFilter {
  /** mc's wildcard patterns on the key relative to the target: `*` any run (slashes included), `?` one character. */
  exclude: string[];
  /** As the operator wrote them (mc gets these, resolved to dates). */
  newerThan?: string;
  olderThan?: string;
  /** Cut-offs resolved once, when the job starts, so that a resumed job filters the same keys. */
  newerThanMs?: number;
  olderThanMs?: number;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/g;
const DOT_DATE = /^(\d{4})\.(\d{2})\.(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * The cut-off time of `--newer-than`/`--older-than`: a duration back from `now` (`7d10h`, units as mc:
 * ns us ms s m h d w y) or a moment (`2006.01.02[T15:04[:05]]` in UTC, or RFC 3339).
 */
export function parseTimeFilter(flag: string, value: string, now: number): number {
  if (DURATION.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return now - ms;
  }
  const dot = DOT_DATE.exec(value);
  if (dot) {
    const [, y, mo, d, h = '00', mi = '00', s = '00'] = dot;
    const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    const back = new Date(t);
    if (back.getUTCFullYear() === Number(y) && back.getUTCMonth() === Number(mo) - 1 && back.getUTCDate() === Number(d) && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60) return t;
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))) {
    return Date.parse(value);
  }
  throw new S3migError('S3MIG_USAGE', `${flag} ${JSON.stringify(value)}: expected a duration like 7d10h (units ns us ms s m h d w y) or a date 2006.01.02[T15:04[:05]] (UTC) or RFC 3339`);
}

/** mc's wildcard match (`*` any run, slashes included; `?` one character), whole key. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su');
}

/** Builds a job's filter from the operator's flags; cut-offs resolved against `now`. */
export function makeKeyFilter(flags: { exclude?: string[]; newerThan?: string; olderThan?: string }, now: number): KeyFilter | undefined {
  const exclude = (flags.exclude ?? []).filter((p) => p !== '');
  if (exclude.length === 0 && flags.newerThan === undefined && flags.olderThan === undefined) return undefined;
  for (const p of flags.exclude ?? []) if (p === '') throw new S3migError('S3MIG_USAGE', '--exclude needs a pattern');
  const f: KeyFilter = { exclude };
  if (flags.newerThan !== undefined) {
    f.newerThan = flags.newerThan;
    f.newerThanMs = parseTimeFilter('--newer-than', flags.newerThan, now);
  }
  if (flags.olderThan !== undefined) {
    f.olderThan = flags.olderThan;
    f.olderThanMs = parseTimeFilter('--older-than', flags.olderThan, now);
  }
  return f;
}

export interface VerdictFilter {
  /** False for a key the migration leaves out: excluded by name, or its source object outside the age window. */
  keep(v: Pick<Verdict, 'key' | 'source'>): boolean;
}

/**
 * The predicate of a filter. Names are matched on both sides; ages on the source object only (as mc
 * tests the source's time), so a key left out by age is left out with its destination copy too.
 */
export function verdictFilter(f: KeyFilter | undefined): VerdictFilter | undefined {
  if (!f) return undefined;
  const patterns = f.exclude.map(globToRegExp);
  return {
    keep(v) {
      if (patterns.some((p) => p.test(v.key))) return false;
      if (v.source && (f.newerThanMs !== undefined || f.olderThanMs !== undefined)) {
        const t = Date.parse(v.source.lastModified);
        if (!Number.isNaN(t)) {
          if (f.newerThanMs !== undefined && t <= f.newerThanMs) return false;
          if (f.olderThanMs !== undefined && t >= f.olderThanMs) return false;
        }
      }
      return true;
    },
  };
}

/** A cut-off as mc reads a date (RFC 3339, UTC), for mc mirror's --newer-than/--older-than. */
export function mcTimeOf(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
