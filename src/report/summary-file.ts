// Writes summary.json atomically.
import { rename, writeFile } from 'node:fs/promises';
import type { Summary } from '../core/summary.ts';

export async function writeSummaryFile(path: string, summary: Summary): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, JSON.stringify(summary, null, 2) + '\n');
  await rename(tmp, path);
}
