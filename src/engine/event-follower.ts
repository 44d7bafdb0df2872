// Follows another process's job live from its events.ndjson (design §4, §11): the history first, then every complete line appended.
//
// The file is watched with fs.watch (the file itself, or its folder while the file does not exist or
// after it was replaced) and polled every pollMs as well, since fs.watch misses changes on some
// filesystems. Each look reads from the offset of the first byte not yet delivered to the end of the
// file; only lines ended by a newline are delivered, so a line that a writer appends in pieces waits
// for its end. One look runs at a time: a change seen meanwhile starts another one after it.
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { S3migError, oneLine } from '../core/errors.ts';
import type { EngineEvent } from './events.ts';

export interface EventFollower {
  /** Stops watching and polling; resolves when no read is in flight. Nothing is delivered after it. */
  close(): Promise<void>;
  /** Byte offset just past the last complete line read (a later follower can start there). */
  readonly offset: number;
}

export interface FollowOptions {
  /** Where to start reading (a byte offset at a line start); default 0, the whole history. */
  fromOffset?: number;
  /** How often to look at the file besides fs.watch's notices; default 500 ms. */
  pollMs?: number;
  /** Skipped lines that are not JSON events, read failures (other than the file not existing yet), and a throwing onEvents. */
  onError?: (err: Error) => void;
}

/** Events handed over per call at most, with a turn of the event loop between calls. */
export const MAX_BATCH_EVENTS = 10_000;
const READ_BLOCK_BYTES = 1024 * 1024;
const DEFAULT_POLL_MS = 500;
/** Places in a line that is not JSON where an event is looked for (see eventOfLine). */
const MAX_SALVAGE_TRIES = 64;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An event from a line, or undefined for a line that is not a JSON object with a string `type`. */
function parseEvent(line: string): EngineEvent | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string') return value as EngineEvent;
  } catch {
    // not JSON: a torn line
  }
  return undefined;
}

/**
 * The event of a line, or of its tail when the line starts with the torn remains of a line cut by a
 * crash (the next writer appends right after them, without a newline between): `skipped` is the part
 * that was not an event.
 */
function eventOfLine(line: string): { event?: EngineEvent; skipped?: string } {
  const event = parseEvent(line);
  if (event) return { event };
  for (let at = line.indexOf('{"', 1), tries = 0; at !== -1 && tries < MAX_SALVAGE_TRIES; at = line.indexOf('{"', at + 1), tries++) {
    const tail = parseEvent(line.slice(at));
    if (tail) return { event: tail, skipped: line.slice(0, at) };
  }
  return { skipped: line };
}

/**
 * Reads the complete lines of `fh` from `start` to its end in blocks, handing each to `take` with its
 * byte span [from, to) (newline excluded); `take` returns false to stop. `afterBlock` runs between
 * blocks (to let the event loop turn). Returns the offset just past the last line taken.
 */
async function readLines(
  fh: FileHandle,
  start: number,
  take: (line: string, from: number, to: number) => boolean,
  afterBlock: () => Promise<void> = async () => undefined,
): Promise<number> {
  let buf = Buffer.allocUnsafe(READ_BLOCK_BYTES);
  /** File position of buf[0]; buf[0, have) are bytes of an unfinished line. */
  let base = start;
  let have = 0;
  for (;;) {
    if (have === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, have, buf.length - have, base + have);
    if (bytesRead === 0) return base;
    const end = have + bytesRead;
    let from = 0;
    for (let nl = buf.indexOf(10, have); nl !== -1 && nl < end; nl = buf.indexOf(10, nl + 1)) {
      const ok = take(buf.toString('utf8', from, nl), base + from, base + nl);
      from = nl + 1;
      if (!ok) return base + from;
    }
    buf.copyWithin(0, from, end);
    have = end - from;
    base += from;
    await afterBlock();
  }
}

/**
 * Delivers the events of a job's event log, from `fromOffset`, then as they are appended. A shorter
 * or replaced file is read again from its start. Lines that are not JSON (a line torn by a crash) are
 * skipped and reported once each through onError; an event that a restarted writer appended right
 * after such remains is still delivered.
 */
export function followEvents(path: string, onEvents: (events: EngineEvent[]) => void, options: FollowOptions = {}): EventFollower {
  // setInterval takes at most 2^31-1 ms (a longer delay becomes 1 ms).
  const pollMs = Math.min(Math.max(1, options.pollMs ?? DEFAULT_POLL_MS), 2 ** 31 - 1);
  const report = (err: Error) => {
    try {
      options.onError?.(err);
    } catch {
      // the caller's handler failing is its own affair
    }
  };
  let offset = options.fromOffset ?? 0;
  /** The identity of the file last read, to notice a replacement. */
  let identity: string | undefined;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let lastFailure = '';
  let watcher: FSWatcher | undefined;
  /** What the watcher watches: the file's identity, or 'folder'. */
  let watching: string | undefined;

  const setWatch = (target: string | undefined) => {
    if (closed || target === watching) return;
    watcher?.close();
    watcher = undefined;
    watching = undefined;
    try {
      let w: FSWatcher | undefined;
      if (target === 'folder') {
        const name = basename(path);
        w = watch(dirname(path), { persistent: true }, (_type, filename) => {
          if (filename === null || filename === name) look();
        });
      } else if (target !== undefined) {
        w = watch(path, { persistent: true }, () => look());
      }
      w?.on('error', () => {
        // The watched file or folder went away: the next look watches what is there now.
        w.close();
        if (watcher === w) {
          watcher = undefined;
          watching = undefined;
        }
        look();
      });
      watcher = w;
      watching = target;
    } catch {
      // No folder yet, or watching is not possible here: the poll carries on alone.
    }
  };

  const deliver = (batch: EngineEvent[]) => {
    if (closed || batch.length === 0) return;
    try {
      onEvents(batch);
    } catch (err) {
      report(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const readOnce = async () => {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      setWatch('folder');
      return;
    }
    try {
      const st = await fh.stat();
      const id = `${st.dev}:${st.ino}`;
      if ((identity !== undefined && id !== identity) || st.size < offset) offset = 0;
      identity = id;
      setWatch(id);
      let batch: EngineEvent[] = [];
      offset = await readLines(
        fh,
        offset,
        (line, from, to) => {
          if (closed) return false;
          if (line.trim() !== '') {
            const { event, skipped } = eventOfLine(line);
            if (skipped !== undefined) {
              const bytes = Buffer.byteLength(skipped);
              report(new S3migError('S3MIG_STATE_UNREADABLE', `${path}: skipped ${bytes} bytes at offset ${from} that are not a JSON event (a line torn by a crash?): ${oneLine(skipped).slice(0, 60)}`));
            }
            if (event) batch.push(event);
          }
          offset = to + 1;
          if (batch.length >= MAX_BATCH_EVENTS) {
            deliver(batch);
            batch = [];
          }
          return true;
        },
        // A long history: the event loop turns between blocks (and between batches).
        nextTurn,
      );
      deliver(batch);
    } finally {
      await fh.close().catch(() => undefined);
    }
  };

  /** Starts a look at the file, or asks the one running for another after it. */
  function look(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await readOnce();
          lastFailure = '';
        } catch (err) {
          const message = oneLine(err);
          // The same failure at every poll is reported once.
          if (message !== lastFailure) report(new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${message}`, { cause: err }));
          lastFailure = message;
        }
      } while (again && !closed);
      running = undefined;
    })();
  }

  const timer = setInterval(look, pollMs);
  look();

  return {
    get offset() {
      return offset;
    },
    async close() {
      if (closed) return running;
      closed = true;
      clearInterval(timer);
      watcher?.close();
      watcher = undefined;
      await running;
    },
  };
}

/** The events of a log as it stands now (no file yet: none); lines that are not JSON events are skipped. */
export async function readEventsOnce(path: string): Promise<EngineEvent[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${oneLine(err)}`, { cause: err });
  }
  try {
    const events: EngineEvent[] = [];
    const end = await readLines(fh, 0, (line) => {
      const { event } = line.trim() === '' ? {} : eventOfLine(line);
      if (event) events.push(event);
      return true;
    });
    // A last line without its newline: kept when it is a whole event (a writer that stopped cleanly ends with one).
    const { size } = await fh.stat();
    if (size > end) {
      const rest = Buffer.alloc(size - end);
      await fh.read(rest, 0, rest.length, end);
      const event = parseEvent(rest.toString('utf8'));
      if (event) events.push(event);
    }
    return events;
  } catch (err) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `cannot read ${path}: ${oneLine(err)}`, { cause: err });
  } finally {
    await fh.close();
  }
}
