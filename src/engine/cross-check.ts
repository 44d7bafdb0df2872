// `reconcile --cross-check mc-diff`: runs mc diff over both live targets while s3mig lists them, stores
// its lines by key, and after the comparison walks them beside the differences file (both in byte
// order) to write cross-check.ndjson: every key where mc and s3mig disagree.
import { createReadStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { crossCheckOutcome, mcDiffCode, MC_DIFF_NAMES, type CrossCheckSummary } from '../core/cross-check.ts';
import { throwIfAborted } from '../core/errors.ts';
import { compareKeys } from '../core/key-order.ts';
import type { Category } from '../core/verdict.ts';
import type { JobDb } from '../store/job-db.ts';
import type { ReportFiles } from '../report/report-set.ts';
import type { DifferenceRow } from '../report/differences.ts';
import type { McContext } from '../mc/context.ts';
import { diffMc } from '../mc/diff.ts';
import type { McDiffMessage } from '../mc/messages.ts';
import { keyOfMcUrl, type McUrlBase } from '../mc/urls.ts';
import type { LiveSide } from './live-targets.ts';
import type { EventInput } from './events.ts';

const STATUS_KEY = 'mcdiff';
const LINE_PREFIX = 'mcdiff:';
const LINE_END = 'mcdiff;'; // the byte after ':'
const ODD_PREFIX = 'mcdiff?'; // lines whose URL is under neither target, numbered
const ODD_END = 'mcdiff@';
export const CROSS_CHECK_FILE = 'cross-check.ndjson';

interface DiffStatus {
  done: boolean;
  complete: boolean;
  failure?: string;
  lines: number;
}

interface StoredLine {
  diff: number;
  first: string;
  second: string;
}

/** Where mc names a target's objects (its endpoint, bucket and prefix). */
function baseOf(l: LiveSide): McUrlBase {
  return { endpoint: l.record.endpoint ?? l.alias.url, bucket: l.target.bucket, prefix: l.target.prefix };
}

/** Runs mc diff into the job's store unless a finished run is stored; a rerun starts afresh. */
export async function runMcDiff(
  db: JobDb,
  ctx: McContext,
  live: { source: LiveSide; dest: LiveSide },
  emit: (e: EventInput) => void,
  signal?: AbortSignal,
): Promise<void> {
  const stored = await db.getJson<DiffStatus>(STATUS_KEY);
  if (stored?.done) return;
  await db.clearMeta(LINE_PREFIX);
  await db.clearMeta(ODD_PREFIX);
  const firstBase = baseOf(live.source);
  const secondBase = baseOf(live.dest);
  let buffer: [string, string][] = [];
  let odd = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeError: unknown;
  const flush = () => {
    const records = buffer;
    buffer = [];
    writing = writing.then(() => db.putMetaMany(records)).catch((err: unknown) => {
      writeError ??= err;
    });
  };
  const onDiff = (d: McDiffMessage) => {
    const key = (d.first !== '' ? keyOfMcUrl(d.first, firstBase) : undefined) ?? (d.second !== '' ? keyOfMcUrl(d.second, secondBase) : undefined);
    const value = JSON.stringify({ diff: mcDiffCode(d.first, d.second, d.diff), first: d.first, second: d.second } satisfies StoredLine);
    buffer.push([key !== undefined ? LINE_PREFIX + key : `${ODD_PREFIX}${String(odd++).padStart(10, '0')}`, value]);
    if (buffer.length >= 1000) flush();
  };
  const srcUrl = `${live.source.alias.name}/${live.source.target.bucket}/${live.source.target.prefix}`;
  const dstUrl = `${live.dest.alias.name}/${live.dest.target.bucket}/${live.dest.target.prefix}`;
  emit({ type: 'log', level: 'info', message: `cross-check: mc diff ${srcUrl} ${dstUrl}` });
  const r = await diffMc(ctx, srcUrl, dstUrl, onDiff, signal);
  flush();
  await writing;
  if (writeError !== undefined) throw writeError;
  throwIfAborted(signal);
  const status: DiffStatus = { done: true, complete: r.complete, lines: r.lines, ...(r.failure ? { failure: r.failure } : {}) };
  if (!r.complete) emit({ type: 'log', level: 'warn', message: `cross-check: ${r.failure}; mc diff's answer is partial` });
  await db.putJson(STATUS_KEY, status);
}

/** Forgets a stored mc diff (after a fix it describes buckets that changed). */
export async function forgetMcDiff(db: JobDb): Promise<void> {
  await db.delMeta(STATUS_KEY);
  await db.clearMeta(LINE_PREFIX);
  await db.clearMeta(ODD_PREFIX);
}

async function* differenceRows(path: string): AsyncGenerator<{ key: string; category: Category }> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const row = JSON.parse(line) as DifferenceRow;
    yield { key: row.key, category: row.category };
  }
}

async function* storedLines(db: JobDb, gte: string, lt: string): AsyncGenerator<[string, StoredLine]> {
  for await (const rows of db.metaEntries(gte, lt)) for (const [k, v] of rows) yield [k, JSON.parse(v) as StoredLine];
}

/**
 * Writes cross-check.ndjson beside the reports from the stored mc diff and the committed differences
 * file; undefined when the job stored no mc diff.
 */
export async function writeCrossCheck(db: JobDb, files: ReportFiles): Promise<CrossCheckSummary | undefined> {
  const status = await db.getJson<DiffStatus>(STATUS_KEY);
  if (!status?.done) return undefined;
  const path = join(files.dir, CROSS_CHECK_FILE);
  const partial = `${path}.partial`;
  const out = await open(partial, 'w');
  let pending: string[] = [];
  const put = async (row: object) => {
    pending.push(JSON.stringify(row) + '\n');
    if (pending.length >= 1000) {
      await out.write(pending.join(''));
      pending = [];
    }
  };
  const counts = { agreed: 0, etagOnly: 0, disagreements: 0 };
  const decide = async (key: string, ours: Category, line: StoredLine | null) => {
    const outcome = crossCheckOutcome(ours, line ? line.diff : null);
    if (outcome === 'agree') counts.agreed++;
    else if (outcome === 'etag-only') counts.etagOnly++;
    else {
      counts.disagreements++;
      await put({ key, s3mig: ours, mc: line ? (MC_DIFF_NAMES[line.diff] ?? `code ${line.diff}`) : 'no difference', ...(line ? { mcFirst: line.first, mcSecond: line.second } : {}) });
    }
  };
  try {
    // Both walks are in UTF-8 byte order of the key: the differences file is written in that order,
    // and the store sorts mc's lines by key.
    const ours = differenceRows(files.differencesNdjson)[Symbol.asyncIterator]();
    const mcs = storedLines(db, LINE_PREFIX, LINE_END)[Symbol.asyncIterator]();
    let a = await ours.next();
    let b = await mcs.next();
    while (!a.done || !b.done) {
      const mcKey = b.done ? undefined : b.value[0].slice(LINE_PREFIX.length);
      const c = a.done ? 1 : mcKey === undefined ? -1 : compareKeys(a.value.key, mcKey);
      if (c < 0) {
        await decide(a.value!.key, a.value!.category, null);
        a = await ours.next();
      } else if (c > 0) {
        await decide(mcKey!, 'matched', b.value![1]);
        b = await mcs.next();
      } else {
        await decide(a.value!.key, a.value!.category, b.value![1]);
        a = await ours.next();
        b = await mcs.next();
      }
    }
    for await (const [, line] of storedLines(db, ODD_PREFIX, ODD_END)) {
      counts.disagreements++;
      await put({ key: null, s3mig: null, mc: MC_DIFF_NAMES[line.diff] ?? `code ${line.diff}`, mcFirst: line.first, mcSecond: line.second, note: 'URL under neither target (mc cleaned the key?)' });
    }
    if (pending.length > 0) await out.write(pending.join(''));
  } finally {
    await out.close();
  }
  await rename(partial, path);
  return {
    tool: 'mc-diff',
    complete: status.complete,
    ...(status.failure ? { failure: status.failure } : {}),
    mcDifferences: status.lines,
    ...counts,
    file: path,
  };
}
