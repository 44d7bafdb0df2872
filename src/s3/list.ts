// Native listing: ListObjectsV2 pages of 1,000 over key ranges, each range resumable from its last key,
// and the planning of those ranges from a delimiter listing (first-level prefixes) or fixed split points.
import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import type { ObjectEntry } from '../core/entry.ts';
import { compareKeys } from '../core/key-order.ts';
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
): Promise<ListObjectsV2CommandOutput> {
  return withRetry(
    () =>
      t.conn.client.send(
        new ListObjectsV2Command({
          Bucket: t.bucket,
          ...((input.prefix ?? t.prefix) !== '' ? { Prefix: input.prefix ?? t.prefix } : {}),
          ...(input.token ? { ContinuationToken: input.token } : input.startAfter ? { StartAfter: input.startAfter } : {}),
          ...(input.delimiter ? { Delimiter: input.delimiter } : {}),
          MaxKeys: input.maxKeys,
          EncodingType: 'url',
        }),
        options.signal ? { abortSignal: options.signal } : {},
      ),
    { policy: t.conn.retry, ...(options.signal ? { signal: options.signal } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) },
  );
}

function unquote(etag: string | undefined): string {
  if (!etag) return '';
  return etag.startsWith('"') && etag.endsWith('"') && etag.length >= 2 ? etag.slice(1, -1) : etag.replace(/&quot;/g, '');
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
    const encoded = out.EncodingType === 'url';
    const entries: ObjectEntry[] = [];
    let lastKey: string | null = null;
    let done = !out.IsTruncated || !out.NextContinuationToken;
    for (const o of out.Contents ?? []) {
      if (o.Key === undefined) continue;
      const key = decodeListedKey(o.Key, encoded);
      if (range.lo !== null && after === null && compareKeys(key, range.lo) < 0) continue;
      if (range.hi !== null && compareKeys(key, range.hi) >= 0) {
        done = true;
        break;
      }
      if (!key.startsWith(t.prefix)) continue;
      const entry: ObjectEntry = {
        key: key.slice(t.prefix.length),
        size: Number(o.Size ?? 0),
        etag: unquote(o.ETag),
        lastModified: o.LastModified ? o.LastModified.toISOString() : '',
      };
      if (o.StorageClass) entry.storageClass = o.StorageClass;
      if (key.endsWith('/') && entry.size === 0) entry.folder = true;
      entries.push(entry);
      lastKey = key;
    }
    yield { entries, lastKey, done };
    if (done) return;
    token = out.NextContinuationToken;
    if (lastKey !== null) startAfter = lastKey;
  }
}

export interface DelimiterLevel {
  prefixes: string[];
  objects: number;
  truncated: boolean;
}

/** One level of a delimiter listing: the sub-folders (full keys) and the number of objects directly in it. */
export async function listLevel(t: ListTarget, level: string, options: ListOptions & { maxPages?: number } = {}): Promise<DelimiterLevel> {
  const prefixes: string[] = [];
  let objects = 0;
  let token: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 20); page++) {
    const out = await listPage(t, { prefix: level, delimiter: '/', maxKeys: 1000, ...(token ? { token } : {}) }, options);
    const encoded = out.EncodingType === 'url';
    for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(decodeListedKey(p.Prefix, encoded));
    objects += out.Contents?.length ?? 0;
    if (!out.IsTruncated || !out.NextContinuationToken) return { prefixes: prefixes.sort(compareKeys), objects, truncated: false };
    token = out.NextContinuationToken;
  }
  return { prefixes: prefixes.sort(compareKeys), objects, truncated: true };
}

/** Split characters for a level whose keys are not in folders: digits and letters, in byte order. */
const CHAR_SPLITS = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'];

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
 * Splits a target's key space into ranges for `concurrency` listers: the folders of the first level that
 * has more than one (descending through single folders), else fixed character split points. More ranges
 * than listers (4 per lister) so that uneven ranges even out across the pool.
 */
export async function planRanges(t: ListTarget, concurrency: number, options: ListOptions = {}): Promise<RangePlan> {
  if (concurrency <= 1) return { ranges: [{ lo: null, hi: null }], basis: 'single stream' };
  const target = concurrency * 4;
  let level = t.prefix;
  for (let depth = 0; depth < 4; depth++) {
    const found = await listLevel(t, level, { ...options, maxPages: 10 });
    if (found.prefixes.length === 1 && found.objects === 0) {
      level = found.prefixes[0]!;
      continue;
    }
    if (found.prefixes.length >= 2) {
      const ranges = rangesFromBounds(found.prefixes, target);
      return { ranges, basis: `${found.prefixes.length}${found.truncated ? '+' : ''} folders under ${JSON.stringify(level)}` };
    }
    break;
  }
  const ranges = rangesFromBounds(CHAR_SPLITS.map((c) => level + c), target);
  return { ranges, basis: `character split points under ${JSON.stringify(level)}` };
}
