// Review marks of a job (jobs/<id>/marks.ndjson): append-only lines any process may write, since only the job's own process opens its LevelDB.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ReviewMark } from '../core/summary.ts';

export type { ReviewMark } from '../core/summary.ts';

/** The marks file's name in a job folder. */
export const MARKS_FILE = 'marks.ndjson';

/** One line of marks.ndjson: `mark: null` clears the key's mark. */
export interface MarkLine {
  key: string;
  mark: ReviewMark | null;
  ts: string;
}

const isMark = (m: unknown): m is ReviewMark | null => m === null || m === 'ignore' || m === 'accept';

/**
 * Marks `keys` (or clears their marks with null) in one append (O_APPEND) of all their lines. A file
 * whose last line was torn by a crash gets a newline first, so that line stays alone and is skipped.
 */
export async function appendMarks(jobDir: string, keys: readonly string[], mark: ReviewMark | null): Promise<void> {
  if (keys.length === 0) return;
  const ts = new Date().toISOString();
  const text = keys.map((key) => JSON.stringify({ key, mark, ts } satisfies MarkLine) + '\n').join('');
  const fh = await open(join(jobDir, MARKS_FILE), 'a+');
  try {
    const { size } = await fh.stat();
    let lead = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) lead = '\n';
    }
    await fh.appendFile(lead + text, 'utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The marks in force: the last line for a key wins, null clears it; lines that do not parse (a torn line
 * after a crash) are skipped; no file is no marks. The map holds what an operator marked, not the objects.
 */
export async function readMarks(jobDir: string): Promise<Map<string, ReviewMark>> {
  const marks = new Map<string, ReviewMark>();
  const lines = createInterface({ input: createReadStream(join(jobDir, MARKS_FILE), { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line === '') continue;
      let parsed: Partial<MarkLine>;
      try {
        parsed = JSON.parse(line) as Partial<MarkLine>;
      } catch {
        continue;
      }
      if (typeof parsed?.key !== 'string' || !isMark(parsed.mark)) continue;
      if (parsed.mark === null) marks.delete(parsed.key);
      else marks.set(parsed.key, parsed.mark);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return marks;
    throw err;
  }
  return marks;
}
