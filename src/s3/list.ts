// Native listing: ListObjectsV2 pages of 1,000 over key ranges, each range resumable from its last key,
// and the planning of those ranges from a delimiter listing (first-level prefixes) or fixed split points.
import { listObjectsV2Fast, type ListPageOutput } from './list-request.ts';
import type { ObjectEntry } from '../core/entry.ts';
import { compareKeys } from '../core/key-order.ts';
import { mapPool } from '../core/pool.ts';
import { unquoteEtag } from '../core/entry.ts';
import type { S3Connection } from './client.ts';
import { withRetry } from './retry.ts';

export interface ListTarget {
  conn: S3Connection;
  bucket: string;
  /** '' or a folder ending in '/'; listed keys are reported relative to it. */
  prefix: string;
}

/** Keys k (full S3 keys) with lo <= k < hi; null is open. */
export interface KeyRange {
  lo: string | null;
  hi: string | null;
}

export interface ListPage {
  /** Entries in this page within the range, keys relative to the target's prefix. */
  entries: ObjectEntry[];
  /** The last full key of the page within the range (the checkpoint), null for an empty page. */
  lastKey: string | null;
  /** The range is exhausted. */
  done: boolean;
}

export interface ListOptions {
  signal?: AbortSignal;
  pageSize?: number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** S3 url-encodes keys with `+` for spaces; where the server did not encode (s3rver), keys are raw. */
export function decodeListedKey(key: string, encoded: boolean): string {
  return encoded ? decodeURIComponent(key.replace(/\+/g, ' ')) : key;
}

/** A string strictly below `s` that no key at or above `s` can precede: `s` less its last character. */
function below(s: string): string {
  const last = s.codePointAt(s.length - 1) ?? 0;
  return s.slice(0, s.length - (last > 0xffff ? 2 : 1));
}

async function listPage(
  t: ListTarget,
  input: { startAfter?: string; token?: string; delimiter?: string; prefix?: string; maxKeys: number },
  options: ListOptions,
): Promise<ListPageOutput> {
  // The fast path signs like the SDK and parses the XML itself: the SDK's parser was most of the CPU of a listing.
  return withRetry(
    () =>
      listObjectsV2Fast(
        t.conn,
        {
          bucket: t.bucket,
          ...((input.prefix ?? t.prefix) !== '' ? { prefix: input.prefix ?? t.prefix } : {}),
          ...(input.token ? { continuationToken: input.token } : input.startAfter ? { startAfter: input.startAfter } : {}),
          ...(input.delimiter ? { delimiter: input.delimiter } : {}),
          maxKeys: input.maxKeys,
          encodingType: 'url',
        },
        options.signal ? { signal: options.signal } : {},
      ),
    { policy: t.conn.retry, ...(options.signal ? { signal: options.signal } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) },
  );
}

/**
 * Lists one range from `after` (exclusive; the range's checkpoint) on, one page per yield. Pages that
 * start before the range (the StartAfter below `lo`) are trimmed; the listing stops at `hi`.
 */
export async function* listRange(t: ListTarget, range: KeyRange, after: string | null, options: ListOptions = {}): AsyncGenerator<ListPage> {
  const pageSize = options.pageSize ?? 1000;
  let startAfter = after ?? (range.lo !== null ? below(range.lo) : undefined);
  let token: string | undefined;
  for (;;) {
    const out = await listPage(t, { ...(startAfter !== undefined ? { startAfter } : {}), ...(token ? { token } : {}), maxKeys: pageSize }, options);
    const encoded = out.encodingType === 'url';
    const entries: ObjectEntry[] = [];
    let lastKey: string | null = null;
    let done = !out.isTruncated || !out.nextContinuationToken;
    for (const o of out.contents) {
      const key = decodeListedKey(o.key, encoded);
      if (range.lo !== null && after === null && compareKeys(key, range.lo) < 0) continue;
      if (range.hi !== null && compareKeys(key, range.hi) >= 0) {
        done = true;
        break;
      }
      if (!key.startsWith(t.prefix)) continue;
      const entry: ObjectEntry = {
        key: key.slice(t.prefix.length),
        size: o.size,
        etag: unquoteEtag(o.etag),
        lastModified: o.lastModified ? o.lastModified.toISOString() : '',
      };
      if (o.storageClass) entry.storageClass = o.storageClass;
      if (key.endsWith('/') && entry.size === 0) entry.folder = true;
      entries.push(entry);
      lastKey = key;
    }
    yield { entries, lastKey, done };
    if (done) return;
    token = out.nextContinuationToken;
    if (lastKey !== null) startAfter = lastKey;
  }
}

export interface DelimiterLevel {
  prefixes: string[];
  objects: number;
  truncated: boolean;
  /** The last two names (keys or folders) of the last page read, in byte order: where the level went on. */
  first: string | null;
  last: string | null;
}

/** One level of a delimiter listing: the sub-folders (full keys) and the number of objects directly in it. */
export async function listLevel(t: ListTarget, level: string, options: ListOptions & { maxPages?: number } = {}): Promise<DelimiterLevel> {
  const prefixes: string[] = [];
  let objects = 0;
  let token: string | undefined;
  let first: string | null = null;
  let last: string | null = null;
  const see = (name: string) => {
    if (last === null || compareKeys(name, last) > 0) {
      first = last;
      last = name;
    } else if (first === null || compareKeys(name, first) > 0) {
      first = name;
    }
  };
  for (let page = 0; page < (options.maxPages ?? 20); page++) {
    const out = await listPage(t, { prefix: level, delimiter: '/', maxKeys: options.pageSize ?? 1000, ...(token ? { token } : {}) }, options);
    const encoded = out.encodingType === 'url';
    for (const p of out.commonPrefixes) {
      const name = decodeListedKey(p, encoded);
      prefixes.push(name);
      see(name);
    }
    for (const o of out.contents) see(decodeListedKey(o.key, encoded));
    objects += out.contents.length;
    if (!out.isTruncated || !out.nextContinuationToken) return { prefixes: prefixes.sort(compareKeys), objects, truncated: false, first, last };
    token = out.nextContinuationToken;
  }
  return { prefixes: prefixes.sort(compareKeys), objects, truncated: true, first, last };
}

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
/** Split characters for a level whose keys are not in folders: digits and letters, in byte order. */
const CHAR_SPLITS = [...(DIGITS + UPPER + LOWER)];

/**
 * Split points for the part of a level not yet seen, beyond `last`: at each position from where the
 * seen names start to differ back to the level, the next characters of the same class (digits after a
 * digit, letters after a letter), back through the run of characters of one class that the names count
 * in. `obj-000000 … obj-000999` seen gives obj-001 … obj-009, obj-01 … obj-09, obj-1 … obj-9: the ranges
 * a counter-named flat bucket continues into.
 */
export function splitsBeyond(level: string, first: string, last: string): string[] {
  let common = 0;
  while (common < first.length && common < last.length && first.charCodeAt(common) === last.charCodeAt(common)) common++;
  const classOf = (ch: string) => (DIGITS.includes(ch) ? DIGITS : UPPER.includes(ch) ? UPPER : LOWER.includes(ch) ? LOWER : '');
  const out: string[] = [];
  const start = Math.min(common, last.length - 1);
  const run = classOf(last[start] ?? '');
  // Back through the run of same-class characters that the names count in.
  for (let p = start; p >= level.length && run !== '' && classOf(last[p]!) === run; p--) {
    for (const c of run) if (c > last[p]!) out.push(last.slice(0, p) + c);
  }
  return out;
}

const ROOT_PAGES = 5;

/** Picks at most `count - 1` evenly spaced bounds and returns the ranges between them, covering every key. */
export function rangesFromBounds(bounds: string[], count: number): KeyRange[] {
  const sorted = [...new Set(bounds)].sort(compareKeys);
  const wanted = Math.max(0, Math.min(sorted.length, count - 1));
  const picked: string[] = [];
  for (let i = 1; i <= wanted; i++) picked.push(sorted[Math.floor((i * sorted.length) / (wanted + 1))]!);
  const unique = [...new Set(picked)];
  const ranges: KeyRange[] = [];
  let lo: string | null = null;
  for (const b of unique) {
    ranges.push({ lo, hi: b });
    lo = b;
  }
  ranges.push({ lo, hi: null });
  return ranges;
}

export interface RangePlan {
  ranges: KeyRange[];
  /** How the split was found, for the log. */
  basis: string;
}

/**
 * Splits a target's key space into ranges for `concurrency` listers, from one page of each level: the
 * folders of the first levels (each level's folders looked into at once, up to three levels down) and,
 * where a level holds more than a page, split points beyond what that page showed. More ranges than
 * listers (4 per lister) so that uneven ranges even out across the pool. A target that fits in one
 * page is one range.
 */
export async function planRanges(t: ListTarget, concurrency: number, options: ListOptions = {}): Promise<RangePlan> {
  if (concurrency <= 1) return { ranges: [{ lo: null, hi: null }], basis: 'single stream' };
  const want = concurrency * 4;
  // The top level gets a few pages (its folders may sit behind thousands of top-level keys); deeper levels one.
  const root = await listLevel(t, t.prefix, { ...options, maxPages: ROOT_PAGES });
  if (!root.truncated && root.prefixes.length === 0) {
    return { ranges: [{ lo: null, hi: null }], basis: `${root.objects} object(s), one page` };
  }
  // Folders are the best split points (each holds its own keys); where a level went on past the pages
  // read, the points its names count on come next, then plain characters past the last name seen.
  const folders = new Set(root.prefixes);
  const counting: string[] = [];
  const after: string[] = [];
  const past = (level: string, l: DelimiterLevel) => {
    if (!l.truncated || l.first === null || l.last === null) return;
    counting.push(...splitsBeyond(level, l.first, l.last));
    after.push(...CHAR_SPLITS.map((c) => level + c).filter((b) => compareKeys(b, l.last!) > 0));
  };
  past(t.prefix, root);
  let levels = 1;
  let frontier = root.prefixes;
  for (let depth = 1; depth <= 3 && folders.size < want && frontier.length > 0; depth++) {
    const looked = frontier.slice(0, want);
    const found = await mapPool(looked, concurrency, (f) => listLevel(t, f, { ...options, maxPages: 1 }));
    const next: string[] = [];
    looked.forEach((folder, i) => {
      const level = found[i]!;
      for (const p of level.prefixes) {
        folders.add(p);
        next.push(p);
      }
      past(folder, level);
    });
    frontier = next;
    levels++;
  }
  let bounds = [...folders, ...counting];
  if (bounds.length < want - 1) bounds.push(...after);
  if (bounds.length === 0) bounds = CHAR_SPLITS.map((c) => t.prefix + c);
  const ranges = rangesFromBounds(bounds, want);
  return { ranges, basis: `${folders.size} folder(s) over ${levels} level(s) and ${bounds.length - folders.size} split point(s)` };
}
