// Parses one line of `mc ls --recursive --json` output (reference/mc-json.md §2) into an entry, an error or nothing.
import { isUtf8 } from 'node:buffer';
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

const bytesOf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const L_HEAD = bytesOf('{"status":"success","type":"');
const L_FILE = bytesOf('file');
const L_FOLDER = bytesOf('folder');
const L_LAST_MODIFIED = bytesOf('","lastModified":"');
const L_SIZE = bytesOf('","size":');
const L_KEY = bytesOf(',"key":"');
const L_ETAG = bytesOf('","etag":"');
const L_URL = bytesOf('","url":"');
const L_VERSION_ORDINAL = bytesOf(',"versionOrdinal":');
const L_STORAGE_CLASS = bytesOf(',"storageClass":"');
const QUOTE = 0x22;
/** Bytes that end a string field of the layout: the closing quote, and those JSON would not take verbatim. */
const FIELD_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) FIELD_STOP[c] = 1;
FIELD_STOP[QUOTE] = 1;
FIELD_STOP[0x5c] = 1;
FIELD_STOP[0x7f] = 1;
/** The bytes of the last field() OR-ed together: from 0x80 on when it held non-ASCII bytes. */
let fieldBits = 0;

/** The offset of a string field's closing quote (its bytes OR-ed into fieldBits), or -1 when a byte JSON would not take verbatim comes first. */
function field(buf: Uint8Array, i: number, end: number): number {
  let bits = 0;
  let c = 0;
  while (i < end && FIELD_STOP[(c = buf[i]!)] === 0) {
    bits |= c;
    i++;
  }
  fieldBits = bits;
  return i < end && c === QUOTE ? i : -1;
}

/** Buffer's own string maker, which skips the argument checks of toString. */
interface Utf8Slicer {
  utf8Slice(start: number, end: number): string;
}

/** A scratch buffer and views of its first n bytes for every n used, so that handing out bytes allocates nothing. */
class Scratch {
  bytes: Buffer;
  private views: Buffer[] = [];

  constructor(size: number) {
    this.bytes = Buffer.alloc(size);
  }

  /** Makes room for n bytes (their old contents are not kept). */
  ensure(n: number): Buffer {
    if (n > this.bytes.length) {
      this.bytes = Buffer.alloc(n * 2);
      this.views = [];
    }
    return this.bytes;
  }

  view(n: number): Buffer {
    return (this.views[n] ??= this.bytes.subarray(0, n));
  }

  /** The first n bytes as a string; invalid UTF-8 becomes U+FFFD, as in every decoder of ours. */
  text(n: number): string {
    return (this.bytes as unknown as Utf8Slicer).utf8Slice(0, n);
  }
}

/**
 * Reads lines of mc's usual layout (mc-json.md §2) straight from the bytes of a listing and gives each
 * one's store encoding, key and value, as bytes the store takes without any string being made, or as
 * strings. What it accepts, it gives exactly as encodeEntryValue(parseListingLine(line)) would for the
 * line decoded as UTF-8: string fields hold bytes 0x20-0x7e other than `"` and `\`, or any byte from
 * 0x80 on, which decode (invalid sequences to U+FFFD, never swallowing an ASCII byte) to characters JSON
 * takes verbatim; the key may also hold JSON escapes. Any other line is left to the caller (decode it
 * and parseListingLine it); a line it accepts is valid JSON.
 */
export class McLsLineScanner {
  /** The last scanned line's object size. */
  size = 0;
  private readonly keyScratch = new Scratch(1024);
  private readonly valueScratch = new Scratch(256);
  private keyLength = 0;
  private valueLength = 0;
  private keyHigh = false;
  private valueHigh = false;

  /** The last scanned line's key. */
  key(): string {
    return this.keyScratch.text(this.keyLength);
  }

  /** The last scanned line's store value. */
  value(): string {
    return this.valueScratch.text(this.valueLength);
  }

  /**
   * The key's UTF-8 bytes, valid until the next scan; undefined when they are not valid UTF-8 (take
   * key(), whose U+FFFD the store then holds, as it would from any decoder).
   */
  keyBytes(): Buffer | undefined {
    const view = this.keyScratch.view(this.keyLength);
    return !this.keyHigh || isUtf8(view) ? view : undefined;
  }

  /** The value's UTF-8 bytes, as keyBytes. */
  valueBytes(): Buffer | undefined {
    const view = this.valueScratch.view(this.valueLength);
    return !this.valueHigh || isUtf8(view) ? view : undefined;
  }

  /**
   * Scans the line starting at `from` (`end` bounds the bytes there are). When it is an entry line in
   * mc's layout followed by `\n` or `\r\n`, takes its key, value and size and returns the offset after
   * the newline; otherwise returns -1 and the caller finds the line's end itself.
   */
  scan(buf: Uint8Array, from: number, end: number): number {
    let i = literal(buf, from, end, L_HEAD);
    if (i < 0) return -1;
    let folder = false;
    const type = i;
    if ((i = literal(buf, type, end, L_FILE)) < 0) {
      i = literal(buf, type, end, L_FOLDER);
      folder = true;
    }
    if (i < 0 || (i = literal(buf, i, end, L_LAST_MODIFIED)) < 0) return -1;
    const lmFrom = i;
    const lmTo = field(buf, i, end);
    let valueBits = fieldBits;
    if (lmTo < 0 || (i = literal(buf, lmTo, end, L_SIZE)) < 0) return -1;
    const sizeFrom = i;
    const sizeTo = digits(buf, i, end);
    if (sizeTo < 0 || (i = literal(buf, sizeTo, end, L_KEY)) < 0) return -1;
    const keyFrom = i;
    const keyTo = keyField(buf, i, end);
    if (keyTo <= keyFrom) return -1; // not a key, or an empty one (an error the slow path words)
    const keyHigh = fieldBits >= 0x80;
    const keyEscaped = keyEscapes;
    if ((i = literal(buf, keyTo, end, L_ETAG)) < 0) return -1;
    const etagFrom = i;
    const etagTo = field(buf, i, end);
    valueBits |= fieldBits;
    if (etagTo < 0 || (i = literal(buf, etagTo, end, L_URL)) < 0) return -1;
    if ((i = field(buf, i, end)) < 0) return -1; // the URL is checked, never stored
    i++;
    if (i + 2 < end && buf[i] === 0x2c && buf[i + 1] === QUOTE && buf[i + 2] === 0x76) {
      if ((i = literal(buf, i, end, L_VERSION_ORDINAL)) < 0 || (i = digits(buf, i, end)) < 0) return -1;
    }
    let scFrom = 0;
    let scTo = 0;
    if (i < end && buf[i] === 0x2c) {
      if ((i = literal(buf, i, end, L_STORAGE_CLASS)) < 0) return -1;
      scFrom = i;
      if ((scTo = field(buf, i, end)) < 0) return -1;
      valueBits |= fieldBits;
      i = scTo + 1;
    }
    if (i >= end || buf[i] !== 0x7d) return -1;
    i++;
    if (i < end && buf[i] === 0x0d) i++;
    if (i >= end || buf[i] !== 0x0a) return -1;

    // size \t etag \t lastModified [\t storageClass \t flags \t]
    const need = sizeTo - sizeFrom + (etagTo - etagFrom) + (lmTo - lmFrom) + (scTo - scFrom) + 6;
    const v = this.valueScratch.ensure(need);
    let size = 0;
    let n = 0;
    for (let j = sizeFrom; j < sizeTo; j++) {
      const c = buf[j]!;
      size = size * 10 + (c - 0x30);
      v[n++] = c;
    }
    v[n++] = 0x09;
    for (let j = etagFrom; j < etagTo; j++) v[n++] = buf[j]!;
    v[n++] = 0x09;
    for (let j = lmFrom; j < lmTo; j++) v[n++] = buf[j]!;
    if (scTo > scFrom || folder) {
      v[n++] = 0x09;
      for (let j = scFrom; j < scTo; j++) v[n++] = buf[j]!;
      v[n++] = 0x09;
      if (folder) v[n++] = 0x64; // d
      v[n++] = 0x09;
    }
    // An escape never takes fewer bytes than the character it stands for (\uXXXX: 6 for at most 3, a
    // pair of them 12 for 4), so the key fits in as many bytes as it is written in.
    const k = this.keyScratch.ensure(keyTo - keyFrom);
    let keyLength = keyTo - keyFrom;
    if (keyEscaped) {
      keyLength = unescapeInto(buf, keyFrom, keyTo, k);
      if (keyLength <= 0) return -1;
    } else {
      for (let j = keyFrom, m = 0; j < keyTo; j++, m++) k[m] = buf[j]!;
    }
    this.keyLength = keyLength;
    this.valueLength = n;
    this.keyHigh = keyHigh;
    this.valueHigh = valueBits >= 0x80;
    this.size = size;
    return i + 1;
  }
}

/** Set by keyField when the key holds a backslash escape. */
let keyEscapes = false;

/**
 * field() for the key, which also takes backslash escapes (keys with quotes or backslashes are not
 * rare): it only finds the closing quote; unescapeInto checks and decodes the escapes.
 */
function keyField(buf: Uint8Array, i: number, end: number): number {
  let bits = 0;
  let escapes = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (FIELD_STOP[c] === 0) {
      bits |= c;
    } else if (c === 0x5c) {
      escapes = true;
      i++; // the escaped character (a quote among them) never ends the field
    } else {
      break;
    }
  }
  fieldBits = bits;
  keyEscapes = escapes;
  return i < end && buf[i] === QUOTE ? i : -1;
}

const SIMPLE_ESCAPES = new Int16Array(256).fill(-1);
for (const [c, b] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) {
  SIMPLE_ESCAPES[c.charCodeAt(0)] = b;
}

/** The value of four hex digits at `i`, or -1. */
function hex4(buf: Uint8Array, i: number): number {
  let v = 0;
  for (let j = i; j < i + 4; j++) {
    const c = buf[j]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Decodes a JSON string's bytes [from, to) with escapes into `out` as UTF-8, exactly as JSON.parse and
 * then UTF-8 would: the length, or -1 for an escape JSON refuses and for a lone surrogate (a string
 * JavaScript can hold but UTF-8 cannot; those lines take the slow path).
 */
function unescapeInto(buf: Uint8Array, from: number, to: number, out: Uint8Array): number {
  let m = 0;
  for (let j = from; j < to; j++) {
    const c = buf[j]!;
    if (c !== 0x5c) {
      out[m++] = c;
      continue;
    }
    const e = buf[++j]!;
    if (e !== 0x75) {
      const b = SIMPLE_ESCAPES[e]!;
      if (b < 0) return -1;
      out[m++] = b;
      continue;
    }
    if (j + 4 >= to) return -1;
    let cp = hex4(buf, j + 1);
    j += 4;
    if (cp < 0) return -1;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A high surrogate followed by an escaped low one is one character; anything else is lone.
      if (cp >= 0xdc00 || j + 6 >= to || buf[j + 1] !== 0x5c || buf[j + 2] !== 0x75) return -1;
      const low = hex4(buf, j + 3);
      if (low < 0xdc00 || low > 0xdfff) return -1;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      j += 6;
    }
    if (cp < 0x80) out[m++] = cp;
    else if (cp < 0x800) {
      out[m++] = 0xc0 | (cp >> 6);
      out[m++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[m++] = 0xe0 | (cp >> 12);
      out[m++] = 0x80 | ((cp >> 6) & 0x3f);
      out[m++] = 0x80 | (cp & 0x3f);
    } else {
      out[m++] = 0xf0 | (cp >> 18);
      out[m++] = 0x80 | ((cp >> 12) & 0x3f);
      out[m++] = 0x80 | ((cp >> 6) & 0x3f);
      out[m++] = 0x80 | (cp & 0x3f);
    }
  }
  return m;
}

/** The offset after `lit` when the bytes at `i` are `lit`, else -1. */
function literal(buf: Uint8Array, i: number, end: number, lit: Uint8Array): number {
  if (i < 0 || i + lit.length > end) return -1;
  for (let j = 0; j < lit.length; j++) if (buf[i + j] !== lit[j]) return -1;
  return i + lit.length;
}

/** The offset after a JSON integer of at most 15 digits (0, or no leading zero) at `i`, else -1. */
function digits(buf: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  const first = buf[i]!;
  if (first < 0x30 || first > 0x39) return -1;
  if (first === 0x30) return i + 1;
  let j = i + 1;
  while (j < end && buf[j]! >= 0x30 && buf[j]! <= 0x39) j++;
  return j - i > 15 ? -1 : j;
}
