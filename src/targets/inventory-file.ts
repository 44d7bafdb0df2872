// Streams a saved listing (`inventory:PATH`, mc ls -r --json format, plain or gzip) as chunks of entries with exact positions.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { ObjectEntry } from '../core/entry.ts';
import { S3migError, throwIfAborted } from '../core/errors.ts';
import { ListingLineError, parseListingLine } from '../core/listing-line.ts';

/** A place in the (uncompressed) input: lines read and the byte offset just after the last of them. */
export interface InputPosition {
  line: number;
  offset: number;
}

export interface ListingError {
  /** Position just after the error line: it belongs to every checkpoint at or past this offset. */
  offset: number;
  message: string;
}

/** What one read produced. `ends[i]` is the position just after entries[i]'s line. */
export interface ListingChunk {
  entries: ObjectEntry[];
  ends: InputPosition[];
  /** Error objects met in this chunk: the listing is incomplete. */
  errors: ListingError[];
  /** Position after every line of this chunk (entries, summaries and blank lines alike). */
  end: InputPosition;
  /** Bytes of the file read so far (compressed bytes for .gz) of its size, for progress gauges. */
  inputBytes: number;
  totalBytes: number;
}

const READ_CHUNK_BYTES = 1 << 20;

function unreadable(name: string, err: unknown): S3migError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
  return new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${why}`, { cause: err });
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
}

/**
 * Reads the file as a stream and yields its entries chunk by chunk. A malformed line throws
 * S3MIG_INVENTORY_PARSE naming the file and the line number; summary lines are ignored.
 */
export async function* readInventory(path: string, options: ReadInventoryOptions = {}): AsyncGenerator<ListingChunk> {
  const name = options.name ?? path;
  const start = options.start ?? { line: 0, offset: 0 };
  const { fh, size, gzip } = await openInput(path, name);
  const raw = fh.createReadStream({ start: gzip ? 0 : start.offset, highWaterMark: READ_CHUNK_BYTES });
  let input: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: READ_CHUNK_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  let line = start.line;
  let offset = start.offset; // uncompressed offset of the first byte of `rest`
  let skip = gzip ? start.offset : 0; // uncompressed bytes before the start that gzip must still pass over
  let rest: Buffer | undefined;

  const take = (buf: Buffer, from: number, to: number, chunk: ListingChunk): void => {
    line++;
    const end = { line, offset: offset + to + 1 - from };
    const stop = to > from && buf[to - 1] === 13 ? to - 1 : to;
    let parsed;
    try {
      parsed = parseListingLine(buf.toString('utf8', from, stop));
    } catch (err) {
      if (err instanceof ListingLineError) throw new S3migError('S3MIG_INVENTORY_PARSE', `${name} line ${line}: ${err.message}`);
      throw err;
    }
    if (parsed.kind === 'entry') {
      chunk.entries.push(parsed.entry);
      chunk.ends.push(end);
    } else if (parsed.kind === 'error') {
      chunk.errors.push({ offset: end.offset, message: `line ${line}: ${parsed.message}` });
    }
  };
  const newChunk = (): ListingChunk => ({ entries: [], ends: [], errors: [], end: { line, offset }, inputBytes: 0, totalBytes: size });

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
      const chunk = newChunk();
      let from = 0;
      for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
        take(buf, from, nl, chunk);
        offset += nl + 1 - from;
        from = nl + 1;
      }
      rest = from < buf.length ? buf.subarray(from) : undefined;
      chunk.end = { line, offset };
      chunk.inputBytes = raw.bytesRead + (gzip ? 0 : start.offset);
      yield chunk;
    }
    const last = newChunk();
    if (rest && rest.length > 0) {
      const tail = Buffer.concat([rest, Buffer.from('\n')]);
      take(tail, 0, tail.length - 1, last);
      offset += rest.length;
      // The file has no final newline: the position after its last line is the end of the file.
      if (last.ends.length > 0) last.ends[last.ends.length - 1] = { line, offset };
      for (const e of last.errors) e.offset = offset;
    }
    last.end = { line, offset };
    last.inputBytes = size;
    yield last;
  } catch (err) {
    if (err instanceof S3migError) throw err;
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${(err as Error).message}`, { cause: err });
  } finally {
    input.destroy();
    raw.destroy();
    await fh.close().catch(() => undefined);
  }
}
