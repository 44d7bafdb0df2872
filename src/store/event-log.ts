// The job's append-only event log (events.ndjson): the audit trail and the live feed for other viewers.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';

export class EventLog {
  private readonly stream: WriteStream;
  private error: Error | undefined;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (err) => {
      this.error ??= err;
    });
  }

  append(event: object): void {
    if (!this.error) this.stream.write(JSON.stringify(event) + '\n');
  }

  /** Flushes and closes; reports the first write error, if any, as its result. */
  async close(): Promise<Error | undefined> {
    if (!this.stream.closed) {
      this.stream.end();
      await once(this.stream, 'close').catch(() => undefined);
    }
    return this.error;
  }
}

/** Reads a whole event log (small: progress is sampled); a torn last line from a crash is dropped. */
export async function readEventLog(path: string): Promise<object[]> {
  const text = await readFile(path, 'utf8');
  const out: object[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as object);
    } catch {
      // only the last line can be torn; skip it
    }
  }
  return out;
}
