// A report file written under `<name>.partial`, that knows how many of its bytes have reached the file, and is renamed into place when complete.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, stat, truncate } from 'node:fs/promises';
import { once } from 'node:events';
import { S3migError } from '../core/errors.ts';

const COALESCE_CHARS = 64 * 1024;

export class StagedFile {
  private stream: WriteStream;
  private submitted: number;
  private pending = '';
  private landed: number;
  private wake: (() => void) | undefined;
  /** The first write error (a full disk, say), thrown at the next write, flush or commit. */
  private error: Error | undefined;

  private constructor(
    readonly path: string,
    start: number,
  ) {
    this.submitted = start;
    this.landed = start;
    this.stream = createWriteStream(StagedFile.partialOf(path), { flags: start > 0 ? 'a' : 'w' });
    this.stream.on('error', (err) => {
      this.error ??= err;
      this.wake?.();
    });
  }

  static partialOf(path: string): string {
    return `${path}.partial`;
  }

  /** A new, empty file. */
  static async create(path: string): Promise<StagedFile> {
    const f = new StagedFile(path, 0);
    await f.opened();
    return f;
  }

  /** Continues a partial file from `offset`, dropping whatever was written after it; undefined when it cannot. */
  static async resume(path: string, offset: number): Promise<StagedFile | undefined> {
    const partial = StagedFile.partialOf(path);
    const size = await stat(partial).then(
      (s) => s.size,
      () => -1,
    );
    if (size < offset) return undefined;
    await truncate(partial, offset);
    const f = new StagedFile(path, offset);
    await f.opened();
    return f;
  }

  private async opened(): Promise<void> {
    try {
      await once(this.stream, 'open');
    } catch {
      this.check();
    }
  }

  private check(): void {
    if (this.error) {
      throw new S3migError('S3MIG_REPORT_WRITE', `cannot write ${this.path}: ${this.error.message}`, { cause: this.error });
    }
  }

  /** Queues text; false when the stream's buffer is full (await drained()). */
  write(text: string): boolean {
    this.pending += text;
    if (this.pending.length < COALESCE_CHARS) return true;
    return this.send();
  }

  /** Hands what write() gathered to the stream: rows go to the file in large writes, not one each. */
  private send(): boolean {
    this.check();
    if (this.pending === '') return !this.stream.writableNeedDrain;
    const text = this.pending;
    this.pending = '';
    const n = Buffer.byteLength(text);
    this.submitted += n;
    return this.stream.write(text, (err) => {
      if (err) return;
      this.landed += n;
      if (this.landed === this.submitted) this.wake?.();
    });
  }

  async drained(): Promise<void> {
    if (!this.stream.writableNeedDrain) return;
    try {
      await once(this.stream, 'drain');
    } catch {
      this.check();
    }
  }

  /** The file's length once everything written so far has reached it: the offset a checkpoint may record. */
  async flushed(): Promise<number> {
    this.send();
    while (this.landed !== this.submitted) {
      this.check();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    this.check();
    return this.landed;
  }

  /** Moves the closed partial file to its final name. */
  async commitClosed(): Promise<void> {
    await rename(StagedFile.partialOf(this.path), this.path);
  }

  async close(): Promise<void> {
    this.send();
    this.stream.end();
    try {
      await once(this.stream, 'close');
    } catch {
      // reported by check()
    }
    this.check();
  }

  abort(): void {
    this.stream.destroy();
  }
}
