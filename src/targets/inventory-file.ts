// Streams a saved listing (`inventory:PATH`, mc ls -r --json format, plain or gzip) as store-ready batches with exact positions.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { S3migError, oneLine, throwIfAborted } from '../core/errors.ts';
import { ListingLineError, McLsLineScanner, encodeMcLsLine, parseListingLine } from '../core/listing-line.ts';
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
  /** Bytes of the file read so far (compressed bytes for .gz) of its size, for progress gauges. */
  inputBytes: number;
  totalBytes: number;
}

/**
 * Takes one entry: key (with the reader's keyPrefix) and store value, each a string or its UTF-8 bytes.
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
  /** Put before every key given to the sink or the chunk (the store's sublevel prefix): printable ASCII. */
  keyPrefix?: string;
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
  const raw = fh.createReadStream({ start: gzip ? 0 : start.offset, highWaterMark: READ_BLOCK_BYTES });
  let input: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: READ_BLOCK_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  let line = start.line;
  /** Uncompressed offset of the first byte not yet split into lines. */
  let offset = start.offset;
  let skip = gzip ? start.offset : 0;
  let rest: Buffer | undefined;
  const inputBytes = () => (gzip ? raw.bytesRead : start.offset + raw.bytesRead);
  const fresh = (): ListingChunk => ({ entries: 0, bytes: 0, keys: [], values: [], errors: [], end: { line, offset }, inputBytes: 0, totalBytes: size });
  let chunk = fresh();
  const sink: EntrySink =
    options.sink ??
    ((key, value) => {
      chunk.keys.push(key as string);
      chunk.values.push(value as string);
    });
  const keyPrefix = options.keyPrefix ?? '';
  const scanner = new McLsLineScanner(keyPrefix);

  /** Adds a line the scanner declined (`text`, decoded, without its newline) to the chunk; true when it was an entry. */
  const take = (text: string): boolean => {
    line++;
    const l = text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    const wide = encodeMcLsLine(l);
    if (wide) {
      sink(keyPrefix + wide.key, wide.value);
      chunk.entries++;
      chunk.bytes += wide.size;
      return true;
    }
    let parsed;
    try {
      parsed = parseListingLine(l);
    } catch (err) {
      if (err instanceof ListingLineError) throw new S3migError('S3MIG_INVENTORY_PARSE', `${name} line ${line}: ${err.message}`);
      throw err;
    }
    if (parsed.kind === 'entry') {
      sink(keyPrefix + parsed.entry.key, encodeEntryValue(parsed.entry));
      chunk.entries++;
      chunk.bytes += parsed.entry.size;
      return true;
    }
    if (parsed.kind === 'error') chunk.errors.push(`line ${line}: ${parsed.message}`);
    return false;
  };

  try {
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
      if (rest) buf = Buffer.concat([rest, buf]);
      // Lines are read from the bytes: most take the scanner, which makes the key and value strings
      // directly; any other is decoded as UTF-8 and parsed. Offsets are byte offsets, exact for resume.
      const base = offset;
      const length = buf.length;
      let from = 0;
      while (from < length) {
        let next = scanner.scan(buf, from, length);
        let entry: boolean;
        if (next >= 0) {
          line++;
          if (options.sink) options.sink(scanner.keyBytes() ?? scanner.key(), scanner.valueBytes() ?? scanner.value());
          else sink(scanner.key(), scanner.value());
          chunk.entries++;
          chunk.bytes += scanner.size;
          entry = true;
        } else {
          const nl = buf.indexOf(10, from);
          if (nl === -1) break;
          entry = take(buf.toString('utf8', from, nl));
          next = nl + 1;
        }
        from = next;
        if (entry && chunk.entries >= chunkEntries) {
          chunk.end = { line, offset: base + from };
          chunk.inputBytes = inputBytes();
          yield chunk;
          chunk = fresh();
          throwIfAborted(options.signal);
        }
      }
      rest = from < length ? Buffer.from(buf.subarray(from)) : undefined;
      offset = base + from;
    }
    if (rest && rest.length > 0) {
      take(rest.toString('utf8'));
      offset += rest.length;
    }
    chunk.end = { line, offset };
    chunk.inputBytes = size;
    yield chunk;
  } catch (err) {
    if (err instanceof S3migError) throw err;
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${(err as Error).message}`, { cause: err });
  } finally {
    input.destroy();
    raw.destroy();
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
