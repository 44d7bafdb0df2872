// Streams a saved listing (`inventory:PATH`, mc ls -r --json format, plain or gzip) as store-ready batches with exact positions.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { S3migError, oneLine, throwIfAborted } from '../core/errors.ts';
import { ListingLineError, McLsLineScanner, parseListingLine } from '../core/listing-line.ts';
import { encodeEntryValue } from '../core/entry-codec.ts';

/** A place in the (uncompressed) input: lines read and the byte offset just after the last of them. */
export interface InputPosition {
  line: number;
  offset: number;
}

/**
 * Up to `chunkEntries` entries, encoded for the store, and what else the lines between the previous
 * chunk's end and this one's held. The entries went to the reader's sink as they were parsed; without
 * a sink they are in keys and values.
 */
export interface ListingChunk {
  entries: number;
  /** The entries' object sizes added up. */
  bytes: number;
  keys: string[];
  values: string[];
  /** Error objects met in these lines: the listing is incomplete. */
  errors: string[];
  /** Position just after the chunk's last entry line, or at the end of the input for the last chunk. */
  end: InputPosition;
  /** The key of the last entry read up to `end` (in this chunk or before it in this read); absent before the first. */
  lastKey?: string;
  /** Bytes of the file read so far (compressed bytes for .gz) of its size, for progress gauges. */
  inputBytes: number;
  totalBytes: number;
}

/**
 * Takes one entry: key and store value, each a string or its UTF-8 bytes.
 * Bytes are the reader's scratch space, valid only during the call: the store copies them.
 */
export type EntrySink = (key: string | Uint8Array, value: string | Uint8Array) => void;

const READ_BLOCK_BYTES = 1 << 20;
export const DEFAULT_CHUNK_ENTRIES = 10_000;

/** A file-system error in a few plain words (no such file, permission denied, ...). */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : oneLine(err);
}

function unreadable(name: string, err: unknown): S3migError {
  return new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${describeFsError(err)}`, { cause: err });
}

async function openInput(path: string, name: string): Promise<{ fh: FileHandle; size: number; gzip: boolean }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw unreadable(name, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    return { fh, size: st.size, gzip: bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b };
  } catch (err) {
    await fh.close();
    throw unreadable(name, err);
  }
}

export interface ReadInventoryOptions {
  /** How the file is named in errors (as the operator wrote it). */
  name?: string;
  signal?: AbortSignal;
  /** Continue after this position (a checkpoint); lines before it are not read again. */
  start?: InputPosition;
  /** Entries per chunk (default 10,000): each chunk is one store batch. */
  chunkEntries?: number;
  /** Receives each entry as it is parsed (the store's batch); the chunks then carry no arrays. */
  sink?: EntrySink;
}

/**
 * Reads the file as a stream and yields its entries `chunkEntries` at a time; the last chunk (possibly
 * empty) ends at the end of the input. A malformed line throws S3MIG_INVENTORY_PARSE naming the file and
 * the line number; summary and blank lines are skipped.
 */
export async function* readInventory(path: string, options: ReadInventoryOptions = {}): AsyncGenerator<ListingChunk> {
  const name = options.name ?? path;
  const chunkEntries = options.chunkEntries ?? DEFAULT_CHUNK_ENTRIES;
  const start = options.start ?? { line: 0, offset: 0 };
  const { fh, size, gzip } = await openInput(path, name);
  // A plain file is read straight into `block`; a gzip file through a stream, whose output is copied in.
  const raw = gzip ? fh.createReadStream({ start: 0, highWaterMark: READ_BLOCK_BYTES }) : undefined;
  let input: Readable | undefined;
  if (raw) {
    const gunzip = createGunzip({ chunkSize: READ_BLOCK_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  let line = start.line;
  /** Uncompressed offset of the first byte not yet split into lines. */
  let offset = start.offset;
  let skip = gzip ? start.offset : 0;
  /** Where a plain file is read next. */
  let filePosition = start.offset;
  const inputBytes = () => (raw ? raw.bytesRead : filePosition);
  // One buffer for the whole file: the bytes not yet split into lines (a line cut by the last read)
  // are moved to its start and the next read goes after them. It grows only for a line longer than it.
  let block = Buffer.allocUnsafe(2 * READ_BLOCK_BYTES);
  /** Bytes of block in use: the unfinished line carried over. */
  let carried = 0;
  const roomFor = (n: number) => {
    if (block.length - carried >= n) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * block.length, carried + n));
    block.copy(grown, 0, 0, carried);
    block = grown;
  };
  const fresh = (): ListingChunk => ({ entries: 0, bytes: 0, keys: [], values: [], errors: [], end: { line, offset }, inputBytes: 0, totalBytes: size });
  let chunk = fresh();
  const sink: EntrySink =
    options.sink ??
    ((key, value) => {
      chunk.keys.push(key as string);
      chunk.values.push(value as string);
    });
  const scanner = new McLsLineScanner();
  /**
   * The last entry's key: a string, or the scanner's bytes. Those stay valid until the scanner's next
   * entry: a line it declines after writing its key there (a key with a lone surrogate) is an entry
   * taken through the slow path, which sets this again; any other line it declines earlier.
   */
  let last: string | Buffer | undefined;
  const lastKey = (): string | undefined => (last === undefined || typeof last === 'string' ? last : last.toString('utf8'));

  /** Adds a line the scanner declined (`text`, decoded, without its newline) to the chunk; true when it was an entry. */
  const take = (text: string): boolean => {
    line++;
    const l = text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    let parsed;
    try {
      parsed = parseListingLine(l);
    } catch (err) {
      if (err instanceof ListingLineError) throw new S3migError('S3MIG_INVENTORY_PARSE', `${name} line ${line}: ${err.message}`);
      throw err;
    }
    if (parsed.kind === 'entry') {
      sink(parsed.entry.key, encodeEntryValue(parsed.entry));
      last = parsed.entry.key;
      chunk.entries++;
      chunk.bytes += parsed.entry.size;
      return true;
    }
    if (parsed.kind === 'error') chunk.errors.push(`line ${line}: ${parsed.message}`);
    return false;
  };

  /** Splits block[0, filled) into lines up to the last whole one, yielding full chunks; carries the rest over. */
  async function* lines(filled: number): AsyncGenerator<ListingChunk> {
    const base = offset;
    let from = 0;
    while (from < filled) {
      let next = scanner.scan(block, from, filled);
      let entry: boolean;
      if (next >= 0) {
        line++;
        if (options.sink) {
          last = scanner.keyBytes() ?? scanner.key();
          options.sink(last, scanner.valueBytes() ?? scanner.value());
        } else {
          last = scanner.key();
          sink(last, scanner.value());
        }
        chunk.entries++;
        chunk.bytes += scanner.size;
        entry = true;
      } else {
        const nl = block.indexOf(10, from);
        if (nl === -1 || nl >= filled) break;
        entry = take(block.toString('utf8', from, nl));
        next = nl + 1;
      }
      from = next;
      if (entry && chunk.entries >= chunkEntries) {
        chunk.end = { line, offset: base + from };
        chunk.lastKey = lastKey();
        chunk.inputBytes = inputBytes();
        yield chunk;
        chunk = fresh();
        throwIfAborted(options.signal);
      }
    }
    block.copyWithin(0, from, filled);
    carried = filled - from;
    offset = base + from;
  }

  try {
    if (input) {
      for await (const data of input) {
        throwIfAborted(options.signal);
        let buf = data as Buffer;
        if (skip > 0) {
          if (buf.length <= skip) {
            skip -= buf.length;
            continue;
          }
          buf = buf.subarray(skip);
          skip = 0;
        }
        roomFor(buf.length);
        buf.copy(block, carried);
        yield* lines(carried + buf.length);
      }
    } else {
      for (;;) {
        throwIfAborted(options.signal);
        roomFor(READ_BLOCK_BYTES);
        const { bytesRead } = await fh.read(block, carried, block.length - carried, filePosition);
        if (bytesRead === 0) break;
        filePosition += bytesRead;
        yield* lines(carried + bytesRead);
      }
    }
    if (carried > 0) {
      take(block.toString('utf8', 0, carried));
      offset += carried;
    }
    chunk.end = { line, offset };
    chunk.lastKey = lastKey();
    chunk.inputBytes = size;
    yield chunk;
  } catch (err) {
    if (err instanceof S3migError) throw err;
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${(err as Error).message}`, { cause: err });
  } finally {
    input?.destroy();
    raw?.destroy();
    await fh.close().catch(() => undefined);
  }
}

/**
 * Estimates a listing's entries without reading it: the average line length of its first 64 KiB against
 * the file's size (for gzip, the uncompressed size from its trailer, exact below 4 GiB).
 */
export async function estimateInventory(path: string, name = path): Promise<{ objects: number; bytes: number; exact: boolean; how: string }> {
  const { fh, size, gzip } = await openInput(path, name);
  try {
    let total = size;
    if (gzip && size >= 18) {
      const tail = Buffer.alloc(4);
      await fh.read(tail, 0, 4, size - 4);
      total = tail.readUInt32LE(0);
    }
    const sample: Buffer[] = [];
    let got = 0;
    const stream = fh.createReadStream({ start: 0, end: gzip ? undefined : 65_535, autoClose: false });
    const input: AsyncIterable<Buffer> = gzip ? stream.pipe(createGunzip()) : stream;
    for await (const chunk of input) {
      sample.push(chunk);
      got += chunk.length;
      if (got >= 65_536) break;
    }
    stream.destroy();
    const text = Buffer.concat(sample).subarray(0, 65_536);
    let lines = 0;
    let bytes = 0;
    for (const line of text.toString('utf8').split('\n')) {
      const m = /"size"\s*:\s*(\d+)/.exec(line);
      if (m) {
        lines++;
        bytes += Number(m[1]);
      }
    }
    if (text.length >= total) return { objects: lines, bytes, exact: true, how: 'counted in the file' };
    if (lines === 0) return { objects: 0, bytes: 0, exact: false, how: 'sampled from the file' };
    const ratio = total / Math.min(text.length, total || text.length);
    return { objects: Math.round(lines * ratio), bytes: Math.round(bytes * ratio), exact: false, how: `sampled from the first ${text.length.toLocaleString('en-US')} bytes of the file` };
  } catch (err) {
    throw err instanceof S3migError ? err : unreadable(name, err);
  } finally {
    await fh.close();
  }
}
