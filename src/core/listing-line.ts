// Parses one line of `mc ls --recursive --json` output (reference/mc-json.md §2) into an entry, an error or nothing.
import { unquoteEtag, type ObjectEntry } from './entry.ts';

export type ListingLine =
  | { kind: 'entry'; entry: ObjectEntry }
  | { kind: 'error'; message: string }
  | { kind: 'summary'; totalObjects: number; totalSize: number }
  | { kind: 'skip' };

/** A line that is not a listing message: the reason, for a one-line error naming file and line. */
export class ListingLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListingLineError';
  }
}

/** The message of an mc error object, preferring the cause (mc-json.md §1). */
export function errorMessageOf(value: Record<string, unknown>): string {
  const error = value.error as Record<string, unknown> | undefined;
  const cause = error?.cause as Record<string, unknown> | undefined;
  const parts = [error?.message, cause?.message].filter((m): m is string => typeof m === 'string' && m !== '');
  return parts.length > 0 ? parts.join(': ') : 'mc reported an error';
}

/**
 * Interprets one line. Blank lines are skipped; anything else that is not an mc listing message
 * (invalid JSON, an entry without a string `key` or a non-negative integer `size`) throws ListingLineError.
 */
export function parseListingLine(line: string): ListingLine {
  if (line.length === 0 || line.trim() === '') return { kind: 'skip' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ListingLineError(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ListingLineError('not a JSON object');
  }
  const v = value as Record<string, unknown>;
  if (v.status === 'error' || (typeof v.error === 'object' && v.error !== null)) {
    return { kind: 'error', message: errorMessageOf(v) };
  }
  if ('totalObjects' in v && !('key' in v)) {
    return { kind: 'summary', totalObjects: Number(v.totalObjects) || 0, totalSize: Number(v.totalSize) || 0 };
  }
  const { key, size } = v;
  if (key === undefined) throw new ListingLineError('entry has no "key"');
  if (typeof key !== 'string' || key === '') throw new ListingLineError('"key" is not a non-empty string');
  if (size === undefined) throw new ListingLineError(`entry ${JSON.stringify(key)} has no "size"`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ListingLineError(`entry ${JSON.stringify(key)} has an invalid "size" ${JSON.stringify(size)}`);
  }
  const entry: ObjectEntry = {
    key,
    size,
    etag: typeof v.etag === 'string' ? unquoteEtag(v.etag) : '',
    lastModified: typeof v.lastModified === 'string' ? v.lastModified : '',
  };
  if (typeof v.storageClass === 'string' && v.storageClass !== '') entry.storageClass = v.storageClass;
  if (typeof v.versionId === 'string' && v.versionId !== '') entry.versionId = v.versionId;
  if (v.isDeleteMarker === true) entry.isDeleteMarker = true;
  if (v.type === 'folder') entry.folder = true;
  return { kind: 'entry', entry };
}

/** An entry encoded for the store (entry-codec), as the fast path of encodeMcLsLine gives it. */
export interface EncodedEntry {
  key: string;
  value: string;
  size: number;
}

// mc prints a listed object in one fixed layout (mc-json.md §2). This expression accepts exactly that
// layout with string fields of printable ASCII without escapes (so JSON.parse would give them verbatim)
// and sizes below 2^53: a line it accepts is valid JSON. A line with non-ASCII characters, which a reader
// that decoded it as latin1 must decode again as UTF-8, takes the wide form below; any other, JSON.parse.
const PLAIN = '[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*';
// The same layout for a line already decoded as UTF-8: string fields may also hold any character from
// U+0080 on, which JSON takes verbatim as well.
const WIDE = '[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\uffff]*';
const mcLsLine = (plain: string) =>
  new RegExp(
    `^\\{"status":"success","type":"(file|folder)","lastModified":"(${plain})","size":(0|[1-9][0-9]{0,14}),"key":"(${plain})",` +
      `"etag":"(${plain})","url":"${plain}"(?:,"versionOrdinal":(?:0|[1-9][0-9]{0,14}))?(?:,"storageClass":"(${plain})")?\\}$`,
  );
const MC_LS_LINE = mcLsLine(PLAIN);
const MC_LS_LINE_WIDE = mcLsLine(WIDE);

function encodeMatch(m: RegExpExecArray | null): EncodedEntry | undefined {
  if (m === null || m[4] === '') return undefined;
  const head = `${m[3]}\t${m[5]}\t${m[2]}`;
  const storageClass = m[6] ?? '';
  const flags = m[1] === 'folder' ? 'd' : '';
  return { key: m[4]!, value: storageClass || flags ? `${head}\t${storageClass}\t${flags}\t` : head, size: Number(m[3]) };
}

/**
 * The store's encoding of a line in mc's usual layout, without building objects; undefined for any
 * other line (parse those with parseListingLine). Equal to encodeEntryValue(parseListingLine(line)).
 */
export function encodeMcLsLine(line: string): EncodedEntry | undefined {
  return encodeMatch(MC_LS_LINE.exec(line));
}

/**
 * encodeMcLsLine for a line decoded as UTF-8 (never as latin1): it also takes fields with non-ASCII
 * characters. Equal to encodeEntryValue(parseListingLine(line)) for every line it accepts.
 */
export function encodeMcLsLineUtf8(line: string): EncodedEntry | undefined {
  return encodeMatch(MC_LS_LINE_WIDE.exec(line));
}
