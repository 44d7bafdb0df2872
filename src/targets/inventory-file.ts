// Streams a saved listing (`inventory:PATH`, mc ls -r --json format, plain or gzip) as chunks of entries.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { ObjectEntry } from '../core/entry.ts';
import { S3migError, throwIfAborted } from '../core/errors.ts';
import { ListingLineError, parseListingLine } from '../core/listing-line.ts';

/** What one read of the input produced; positions are running totals. */
export interface ListingChunk {
  entries: ObjectEntry[];
  /** Error objects met in this chunk: the listing is incomplete. */
  errors: string[];
  /** Lines read so far. */
  line: number;
  /** Bytes of the file read so far (compressed bytes for .gz), and the file's size. */
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

/**
 * Reads the file as a stream and yields its entries chunk by chunk. A malformed line throws
 * S3MIG_INVENTORY_PARSE naming `name` and the line number; summary lines are ignored.
 */
export async function* readInventory(
  path: string,
  options: { name?: string; signal?: AbortSignal } = {},
): AsyncGenerator<ListingChunk> {
  const name = options.name ?? path;
  const { fh, size, gzip } = await openInput(path, name);
  const raw = fh.createReadStream({ start: 0, highWaterMark: READ_CHUNK_BYTES });
  let input: Readable = raw;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: READ_CHUNK_BYTES });
    raw.on('error', (err) => gunzip.destroy(err));
    input = raw.pipe(gunzip);
  }
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let line = 0;

  const take = (text: string, chunk: ListingChunk): void => {
    line++;
    const l = text.length > 0 && text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
    let parsed;
    try {
      parsed = parseListingLine(l);
    } catch (err) {
      if (err instanceof ListingLineError) {
        throw new S3migError('S3MIG_INVENTORY_PARSE', `${name} line ${line}: ${err.message}`);
      }
      throw err;
    }
    if (parsed.kind === 'entry') chunk.entries.push(parsed.entry);
    else if (parsed.kind === 'error') chunk.errors.push(`line ${line}: ${parsed.message}`);
  };
  const chunkOf = (): ListingChunk => ({ entries: [], errors: [], line, inputBytes: raw.bytesRead, totalBytes: size });

  try {
    for await (const buf of input) {
      throwIfAborted(options.signal);
      const text = rest + decoder.write(buf as Buffer);
      const chunk = chunkOf();
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        take(text.slice(start, nl), chunk);
        start = nl + 1;
      }
      rest = text.slice(start);
      chunk.line = line;
      chunk.inputBytes = raw.bytesRead;
      yield chunk;
    }
    rest += decoder.end();
    const last = chunkOf();
    if (rest.length > 0) take(rest, last);
    last.line = line;
    last.inputBytes = size;
    yield last;
  } catch (err) {
    if (err instanceof S3migError) throw err;
    throw new S3migError('S3MIG_INVENTORY_UNREADABLE', `cannot read inventory file ${name}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    input.destroy();
    raw.destroy();
    await fh.close().catch(() => undefined);
  }
}
