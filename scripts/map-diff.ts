// The in-memory baseline for scripts/bench-reconcile.ts: diffs two mc `ls -r --json` listings with a Map.
// Reads the source into Map<key, {size, etag}>, walks the destination, and classifies every key with the
// same rules as s3mig (src/core/verdict.ts). Prints one JSON line: counts, wall time and peak RSS.
// Run: node --import tsx scripts/map-diff.ts SOURCE.ndjson DEST.ndjson
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { performance } from 'node:perf_hooks';
import { classify } from '../src/core/verdict.ts';
import { emptyCounts, type CategoryCounts } from '../src/core/tally.ts';

interface Slim {
  size: number;
  etag: string;
}

/** The lines of a file, one array per 1 MiB read (an async step per line would dominate the timing). */
async function* lineBatches(path: string): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const buf of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = rest + decoder.write(buf as Buffer);
    const lines = text.split('\n');
    rest = lines.pop()!;
    yield lines;
  }
  rest += decoder.end();
  if (rest !== '') yield [rest];
}

/** Calls `each` with every listing entry of the file; blank lines and mc summary lines are skipped. */
async function readListing(path: string, each: (key: string, value: Slim) => void): Promise<number> {
  let lineNo = 0;
  let errors = 0;
  for await (const lines of lineBatches(path)) {
    for (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const v = JSON.parse(line) as Record<string, unknown>;
      if (v.status === 'error') {
        errors++;
        continue;
      }
      if (typeof v.key !== 'string') continue; // {"totalObjects":…} summary line
      if (typeof v.size !== 'number') throw new Error(`${path} line ${lineNo}: no numeric "size"`);
      let etag = typeof v.etag === 'string' ? v.etag : '';
      if (etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"')) etag = etag.slice(1, -1);
      each(v.key, { size: v.size, etag });
    }
  }
  return errors;
}

const entry = (key: string, v: Slim) => ({ key, size: v.size, etag: v.etag, lastModified: '' });

async function main(): Promise<void> {
  const [sourcePath, destPath] = process.argv.slice(2);
  if (!sourcePath || !destPath) {
    process.stderr.write('usage: node --import tsx scripts/map-diff.ts SOURCE.ndjson DEST.ndjson\n');
    process.exitCode = 2;
    return;
  }
  const t0 = performance.now();
  const source = new Map<string, Slim>();
  const sourceErrors = await readListing(sourcePath, (key, v) => void source.set(key, v)); // last entry of a key wins
  const loadMs = performance.now() - t0;
  const sourceKeys = source.size;

  const t1 = performance.now();
  const counts: CategoryCounts = emptyCounts();
  counts.source = sourceKeys;
  // Matched keys leave the Map, so what remains at the end is missing. Keys listed twice in the destination
  // (s3mig keeps the last entry) are not handled: the bench data has none, and a Set of destination keys
  // would double this baseline's memory.
  const destErrors = await readListing(destPath, (key, d) => {
    counts.dest++;
    const s = source.get(key);
    if (s === undefined) {
      counts.extra++;
      return;
    }
    counts[classify(entry(key, s), entry(key, d))]++;
    source.delete(key);
  });
  counts.missing = source.size; // whatever the destination never named
  const compareMs = performance.now() - t1;

  process.stdout.write(
    JSON.stringify({
      tool: 'map-diff',
      counts,
      errors: { source: sourceErrors, dest: destErrors },
      timings: { loadSourceMs: Math.round(loadMs), walkDestMs: Math.round(compareMs), totalMs: Math.round(performance.now() - t0) },
      // Since process start (includes node and tsx start-up), like the outside wall clock.
      wallMs: Math.round(performance.now()),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    }) + '\n',
  );
  const differences = counts.missing + counts.extra + counts.sizeMismatch + counts.etagMismatch;
  process.exitCode = sourceErrors + destErrors > 0 ? 2 : differences > 0 ? 1 : 0;
}

await main();
