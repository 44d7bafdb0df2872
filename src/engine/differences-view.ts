// The differences browser's data: a report's differences.ndjson indexed once (byte offset and category of each row) for random access, rows never held in memory.
//
// The index costs 9 bytes a row (a Float64 offset and a Uint8 category code) in fixed-size chunks, so
// it grows without copying and 10 million rows take about 90 MB. A filtered view keeps one Uint32 count
// per block of FILTER_BLOCK rows, not a list of rows. Rows are read back with positional reads of just
// the byte spans they occupy, through the file handle opened at indexing: report files are replaced by
// rename, so the handle keeps reading the file that was indexed.
import { open, type FileHandle } from 'node:fs/promises';
import { S3migError, oneLine, throwIfAborted } from '../core/errors.ts';
import { CATEGORIES, type Category } from '../core/verdict.ts';
import type { DifferenceRow } from '../report/differences.ts';

/** A row of differences.ndjson: the report's row with the operator's review mark, when there is one. */
export type DifferenceItem = DifferenceRow & { mark?: 'ignore' | 'accept' };

export interface OpenOptions {
  /** Stops the scan between blocks (S3MIG_CANCELED, or the signal's S3migError reason). */
  signal?: AbortSignal;
  /** Called after each block: rows indexed and bytes scanned so far. */
  onProgress?: (rows: number, bytes: number) => void;
}

/** One filter's rows, addressed by their position in the filter (0 .. length-1), in file order. */
export interface FilteredDifferences {
  readonly length: number;
  /** Rows [from, from+count) of this view (clamped to it), read with positional reads of only their byte spans. */
  rows(from: number, count: number): Promise<DifferenceItem[]>;
  /**
   * The position of the next row whose key contains `text` (case-insensitive), from `from` (inclusive)
   * in `direction`, wrapping around once; -1 when no row has it.
   */
  find(text: string, from: number, direction?: 1 | -1): Promise<number>;
  /** Keys of rows [from, from+count) of this view (clamped). */
  keysOf(from: number, count: number): Promise<string[]>;
  /** Every key of this view in file order, in batches (of SCAN_ROWS keys). */
  allKeys(): AsyncGenerator<string[]>;
}

/** Below 1 MB: Node makes a longer latin1 string external, and external strings pile up between collections. */
const READ_BLOCK_BYTES = 768 * 1024;
const CHUNK_SHIFT = 16;
const CHUNK_ROWS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_ROWS - 1;
/** Rows per entry of a filter's prefix counts: a lookup scans at most this many category codes. */
const FILTER_BLOCK = 1024;
/** Rows read per positional read in find() and allKeys(). */
export const SCAN_ROWS = 4096;
/** Rows of a sparse filter whose byte spans are at most this far apart are read together. */
const MERGE_GAP_BYTES = 64 * 1024;

const CODE_OF = new Map<string, number>(CATEGORIES.map((c, i) => [c, i]));

// The layout JSON.stringify gives a report row ({key, category, source, dest, mark?}), matched on the line
// decoded as latin1 (one character per byte, so positions are byte offsets). A string accepts any byte but
// '"', '\\' and controls, or a valid escape: UTF-8 bytes decode to none of those, so a line this expression
// accepts is valid JSON whatever its non-ASCII bytes. Any other line is checked with JSON.parse. The string
// pattern is the "unrolled loop" form, linear on lines that do not match.
const STR = '"[^"\\\\\\x00-\\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\x00-\\x1f]*)*"';
const NUM = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
const SNAPSHOT = `(?:null|\\{"size":${NUM},"etag":${STR},"lastModified":${STR}(?:,"storageClass":${STR})?\\})`;
/** A row's start up to its category's value: `{"key":"...","category":"`. */
const ROW_HEAD = new RegExp(`\\{"key":${STR},"category":"`, 'y');
/** A row's end after its category's value: `,"source":...,"dest":...}` and the optional mark. */
const ROW_TAIL = new RegExp(`,"source":${SNAPSHOT},"dest":${SNAPSHOT}(?:,"mark":"(?:ignore|accept)")?\\}`, 'y');
/** Each category's value as it ends in the line (with its closing quote). */
const QUOTED_CATEGORIES = CATEGORIES.map((c) => `${c}"`);

/**
 * The category code of a line in the report writer's layout, without allocating (test() with sticky
 * expressions, no match arrays); undefined for any other line.
 */
function fastCategoryCode(text: string, from: number, end: number): number | undefined {
  ROW_HEAD.lastIndex = from;
  if (!ROW_HEAD.test(text)) return undefined;
  const at = ROW_HEAD.lastIndex;
  for (let code = 0; code < QUOTED_CATEGORIES.length; code++) {
    const quoted = QUOTED_CATEGORIES[code]!;
    if (!text.startsWith(quoted, at)) continue;
    ROW_TAIL.lastIndex = at + quoted.length;
    return ROW_TAIL.test(text) && ROW_TAIL.lastIndex === end ? code : undefined;
  }
  return undefined;
}

function notARecord(path: string, line: number): S3migError {
  return new S3migError('S3MIG_STATE_UNREADABLE', `${path} line ${line}: not a difference record; rewrite the reports with s3mig report JOB`);
}

function cannotRead(path: string, err: unknown): S3migError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new S3migError('S3MIG_STATE_UNREADABLE', `${path}: no such file (no differences report there yet; write it with s3mig report JOB)`, { cause: err });
  return new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${oneLine(err)}`, { cause: err });
}

/** The category code of a line that the fast layout did not accept, or undefined when it is no difference record. */
function parsedCategoryCode(text: string): number | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { key, category } = value as { key?: unknown; category?: unknown };
  if (typeof key !== 'string' || typeof category !== 'string') return undefined;
  return CODE_OF.get(category);
}

/** The rows' offsets and category codes, in chunks that are filled in turn. */
class RowIndex {
  total = 0;
  private readonly offsets: Float64Array[] = [];
  readonly codes: Uint8Array[] = [];

  push(offset: number, code: number): void {
    const i = this.total & CHUNK_MASK;
    if (i === 0) {
      this.offsets.push(new Float64Array(CHUNK_ROWS));
      this.codes.push(new Uint8Array(CHUNK_ROWS));
    }
    this.offsets[this.offsets.length - 1]![i] = offset;
    this.codes[this.codes.length - 1]![i] = code;
    this.total++;
  }

  offset(row: number): number {
    return this.offsets[row >>> CHUNK_SHIFT]![row & CHUNK_MASK]!;
  }

  code(row: number): number {
    return this.codes[row >>> CHUNK_SHIFT]![row & CHUNK_MASK]!;
  }
}

/** The index of a whole file: rows, the row index of each blank line (for line numbers), the size scanned. */
interface Scanned {
  index: RowIndex;
  blanks: number[];
  size: number;
}

async function scan(fh: FileHandle, path: string, options: OpenOptions): Promise<Scanned> {
  const index = new RowIndex();
  const blanks: number[] = [];
  let buf = Buffer.allocUnsafe(READ_BLOCK_BYTES);
  /** File position of buf[0]; buf[0, have) holds bytes not yet split into lines. */
  let base = 0;
  let have = 0;

  const take = (text: string, from: number, to: number): void => {
    let end = to;
    if (end > from && text.charCodeAt(end - 1) === 13) end--;
    const first = text.charCodeAt(from);
    if (first !== 123 /* { */ && /^[ \t]*$/.test(text.slice(from, end))) {
      blanks.push(index.total);
      return;
    }
    const code = fastCategoryCode(text, from, end) ?? parsedCategoryCode(buf.toString('utf8', from, end));
    if (code === undefined) throw notARecord(path, index.total + blanks.length + 1);
    index.push(base + from, code);
  };

  for (;;) {
    throwIfAborted(options.signal);
    if (have === buf.length) {
      // A line longer than the buffer: keep its start and read on.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, have, buf.length - have, base + have));
    } catch (err) {
      throw cannotRead(path, err);
    }
    const end = have + bytesRead;
    const text = buf.toString('latin1', 0, end);
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      take(text, from, nl);
      from = nl + 1;
    }
    if (bytesRead === 0) {
      if (from < end) take(text, from, end);
      options.onProgress?.(index.total, base + end);
      return { index, blanks, size: base + end };
    }
    buf.copyWithin(0, from, end);
    have = end - from;
    base += from;
    options.onProgress?.(index.total, base);
  }
}

/** A differences report indexed for the browser: counts per category, filtered views, rows by position. */
export class DifferencesView {
  readonly total: number;
  private readonly countsByCode: number[];
  private closing: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly scanned: Scanned,
  ) {
    this.total = scanned.index.total;
    this.countsByCode = CATEGORIES.map(() => 0);
    scanned.index.codes.forEach((chunk, c) => {
      const n = Math.min(CHUNK_ROWS, this.total - c * CHUNK_ROWS);
      for (let i = 0; i < n; i++) this.countsByCode[chunk[i]!]!++;
    });
  }

  /**
   * Indexes the file with one scan in large blocks. A line that is not a JSON difference record (an
   * object with a string key and a known category) fails with S3MIG_STATE_UNREADABLE naming its line.
   */
  static async open(path: string, options: OpenOptions = {}): Promise<DifferencesView> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      throw cannotRead(path, err);
    }
    try {
      return new DifferencesView(path, fh, await scan(fh, path, options));
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  counts(): Record<Category, number> {
    return Object.fromEntries(CATEGORIES.map((c, i) => [c, this.countsByCode[i]!])) as Record<Category, number>;
  }

  /** The rows of the given categories (null: all rows), in file order. */
  filter(categories: readonly Category[] | null): FilteredDifferences {
    let mask = 0;
    for (const c of categories ?? CATEGORIES) mask |= 1 << CODE_OF.get(c)!;
    const length = this.countsByCode.reduce((sum, n, code) => (mask & (1 << code) ? sum + n : sum), 0);
    if (length === this.total) return new Filtered(this, mask, null, length);
    const { index } = this.scanned;
    const blocks = Math.ceil(this.total / FILTER_BLOCK);
    const prefix = new Uint32Array(blocks + 1);
    let seen = 0;
    for (let b = 0; b < blocks; b++) {
      prefix[b] = seen;
      const end = Math.min(this.total, (b + 1) * FILTER_BLOCK);
      for (let r = b * FILTER_BLOCK; r < end; r++) if (mask & (1 << index.code(r))) seen++;
    }
    prefix[blocks] = seen;
    return new Filtered(this, mask, prefix, length);
  }

  /** Closes the file; the views stop working. */
  close(): Promise<void> {
    this.closing ??= this.fh.close().catch(() => undefined);
    return this.closing;
  }

  /** @internal The category code of a row. */
  codeOf(row: number): number {
    return this.scanned.index.code(row);
  }

  /**
   * @internal Reads the lines of the given rows (ascending row indices) and hands each to `use` with its
   * bytes [from, to) in a buffer: one positional read per run of rows whose spans are close together.
   */
  async readLines(rows: readonly number[], use: (row: number, buf: Buffer, from: number, to: number) => void): Promise<void> {
    const { index, size } = this.scanned;
    const endBound = (row: number) => (row + 1 < this.total ? index.offset(row + 1) : size);
    for (let i = 0; i < rows.length; ) {
      const start = index.offset(rows[i]!);
      let j = i;
      let end = endBound(rows[j]!);
      while (j + 1 < rows.length && index.offset(rows[j + 1]!) - end <= MERGE_GAP_BYTES) end = endBound(rows[++j]!);
      const buf = Buffer.allocUnsafe(end - start);
      let got = 0;
      try {
        while (got < buf.length) {
          const { bytesRead } = await this.fh.read(buf, got, buf.length - got, start + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (err) {
        throw cannotRead(this.path, err);
      }
      if (got < buf.length) throw new S3migError('S3MIG_STATE_UNREADABLE', `${this.path} is shorter than when it was opened; open it again`);
      for (let k = i; k <= j; k++) {
        const from = index.offset(rows[k]!) - start;
        const nl = buf.indexOf(10, from);
        let to = nl === -1 ? buf.length : nl;
        if (to > from && buf[to - 1] === 13) to--;
        use(rows[k]!, buf, from, to);
      }
      i = j + 1;
    }
  }

  /** @internal The line number of a row in the file (blank lines count). */
  lineOf(row: number): number {
    const { blanks } = this.scanned;
    let lo = 0;
    let hi = blanks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (blanks[mid]! <= row) lo = mid + 1;
      else hi = mid;
    }
    return row + 1 + lo;
  }

  /** @internal The error for a row that no longer parses. */
  notARecord(row: number): S3migError {
    return notARecord(this.path, this.lineOf(row));
  }
}

/** The key of a row's line: sliced out when the line starts as the report writes it, else parsed. */
const KEY_HEAD = Buffer.from('{"key":"');

function keyOfLine(buf: Buffer, from: number, to: number): string | undefined {
  const HEAD = KEY_HEAD;
  if (to - from > HEAD.length && buf.compare(HEAD, 0, HEAD.length, from, from + HEAD.length) === 0) {
    let escaped = false;
    for (let p = from + HEAD.length; p < to; p++) {
      const c = buf[p];
      if (c === 0x5c) {
        escaped = true;
        p++;
      } else if (c === 0x22) {
        if (!escaped) return buf.toString('utf8', from + HEAD.length, p);
        try {
          return JSON.parse(buf.toString('utf8', from + HEAD.length - 1, p + 1)) as string;
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
  try {
    const key = (JSON.parse(buf.toString('utf8', from, to)) as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

class Filtered implements FilteredDifferences {
  constructor(
    private readonly view: DifferencesView,
    private readonly mask: number,
    /** Matching rows before each block of FILTER_BLOCK rows; null when the view is every row. */
    private readonly prefix: Uint32Array | null,
    readonly length: number,
  ) {}

  /** Row indices (in the file) of positions [from, from+count) of this view, clamped to it. */
  private rowsAt(from: number, count: number): number[] {
    const start = Math.max(0, Math.floor(from));
    const n = Math.max(0, Math.min(Math.floor(count), this.length - start));
    if (n === 0) return [];
    const out: number[] = new Array<number>(n);
    if (this.prefix === null) {
      for (let i = 0; i < n; i++) out[i] = start + i;
      return out;
    }
    const prefix = this.prefix;
    // The last block whose count of earlier matches is at most `start`.
    let lo = 0;
    let hi = prefix.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (prefix[mid]! <= start) lo = mid;
      else hi = mid - 1;
    }
    let seen = prefix[lo]!;
    let got = 0;
    for (let r = lo * FILTER_BLOCK; got < n; r++) {
      if (this.mask & (1 << this.view.codeOf(r))) {
        if (seen >= start) out[got++] = r;
        seen++;
      }
    }
    return out;
  }

  async rows(from: number, count: number): Promise<DifferenceItem[]> {
    const rows = this.rowsAt(from, count);
    const out: DifferenceItem[] = [];
    await this.view.readLines(rows, (row, buf, a, b) => {
      let item: unknown;
      try {
        item = JSON.parse(buf.toString('utf8', a, b));
      } catch {
        throw this.view.notARecord(row);
      }
      out.push(item as DifferenceItem);
    });
    return out;
  }

  async keysOf(from: number, count: number): Promise<string[]> {
    const rows = this.rowsAt(from, count);
    const out: string[] = [];
    await this.view.readLines(rows, (row, buf, a, b) => {
      const key = keyOfLine(buf, a, b);
      if (key === undefined) throw this.view.notARecord(row);
      out.push(key);
    });
    return out;
  }

  async find(text: string, from: number, direction: 1 | -1 = 1): Promise<number> {
    const n = this.length;
    if (n === 0) return -1;
    const needle = text.toLowerCase();
    const start = ((Math.trunc(Number.isFinite(from) ? from : 0) % n) + n) % n;
    const hit = (key: string) => key.toLowerCase().includes(needle);
    if (direction === 1) {
      for (const [a, b] of [[start, n], [0, start]] as const) {
        for (let i = a; i < b; i += SCAN_ROWS) {
          const keys = await this.keysOf(i, Math.min(SCAN_ROWS, b - i));
          for (let k = 0; k < keys.length; k++) if (hit(keys[k]!)) return i + k;
        }
      }
    } else {
      // Downwards from start to 0, then from the end down to just above start.
      for (const [a, b] of [[0, start], [start + 1, n - 1]] as const) {
        for (let hiRow = b; hiRow >= a; hiRow -= SCAN_ROWS) {
          const loRow = Math.max(a, hiRow - SCAN_ROWS + 1);
          const keys = await this.keysOf(loRow, hiRow - loRow + 1);
          for (let k = keys.length - 1; k >= 0; k--) if (hit(keys[k]!)) return loRow + k;
        }
      }
    }
    return -1;
  }

  async *allKeys(): AsyncGenerator<string[]> {
    for (let i = 0; i < this.length; i += SCAN_ROWS) yield await this.keysOf(i, SCAN_ROWS);
  }
}
