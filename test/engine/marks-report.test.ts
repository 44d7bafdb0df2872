// Review marks in the reports: rows of differences.ndjson/.csv carry them, summary.json counts them, verdicts and exit codes ignore them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { resumeJob, rewriteReports, runReconcile } from '../../src/engine/reconcile-job.ts';
import { EventBus, type EngineEvent } from '../../src/engine/events.ts';
import { S3migError } from '../../src/core/errors.ts';
import { appendMarks } from '../../src/store/marks.ts';
import { jobPaths } from '../../src/store/state-dir.ts';
import { CSV_COLUMNS, type DifferenceRow } from '../../src/report/differences.ts';
import { MD5_A, MD5_B, tempDir, writeInventory } from '../helpers.ts';

const readRows = async (path: string) => (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as DifferenceRow);

test('marks go into differences.ndjson, the last CSV column and summary.reviewMarks; counts and exit code stay as they were', async (t) => {
  const dir = await tempDir(t);
  await writeInventory(dir, 'src.ndjson', [
    { key: 'matched', size: 5, etag: MD5_A },
    { key: 'missing', size: 7, etag: MD5_A },
    { key: 'size', size: 5, etag: MD5_A },
    { key: 'unmarked', size: 1, etag: MD5_A },
  ]);
  await writeInventory(dir, 'dst.ndjson', [
    { key: 'extra', size: 11, etag: MD5_B },
    { key: 'matched', size: 5, etag: MD5_A },
    { key: 'size', size: 6, etag: MD5_A },
  ]);
  const stateDir = join(dir, 'state');
  const before = await runReconcile({ source: 'inventory:src.ndjson', dest: 'inventory:dst.ndjson', stateDir, reportDir: 'rep', cwd: dir });
  assert.deepEqual(before.reviewMarks, { ignore: 0, accept: 0 });
  const rowsBefore = await readRows(before.reports.differencesNdjson);
  assert.ok(rowsBefore.every((r) => !('mark' in r)));

  const jobDir = jobPaths(stateDir, before.job).dir;
  await appendMarks(jobDir, ['missing'], 'ignore');
  await appendMarks(jobDir, ['extra', 'matched'], 'accept');
  await appendMarks(jobDir, ['size'], 'ignore');
  await appendMarks(jobDir, ['size'], null);

  const after = await rewriteReports({ stateDir, id: before.job });
  // Verdicts, counts, outcome and exit code do not move.
  assert.deepEqual(after.counts, before.counts);
  assert.deepEqual(after.bytes, before.bytes);
  assert.equal(after.outcome, before.outcome);
  assert.equal(after.exitCode, 1);
  // The mark on the matched key is not a difference of this report: not counted.
  assert.deepEqual(after.reviewMarks, { ignore: 1, accept: 1 });
  assert.deepEqual(JSON.parse(await readFile(after.reports.summary, 'utf8')).reviewMarks, { ignore: 1, accept: 1 });

  const rows = await readRows(after.reports.differencesNdjson);
  assert.deepEqual(
    rows.map((r) => [r.key, r.category, r.mark]),
    [['extra', 'extra', 'accept'], ['missing', 'missing', 'ignore'], ['size', 'sizeMismatch', undefined], ['unmarked', 'missing', undefined]],
  );
  // Apart from the mark, every row is what it was.
  assert.deepEqual(rows.map(({ mark: _m, ...r }) => r), rowsBefore);

  const csv = parseCsv(await readFile(after.reports.differencesCsv, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(csv[0]!), [...CSV_COLUMNS]);
  assert.deepEqual([CSV_COLUMNS[0], CSV_COLUMNS[1], CSV_COLUMNS.at(-1)], ['key', 'category', 'review_mark']);
  assert.deepEqual(csv.map((c) => [c.key, c.review_mark]), [['extra', 'accept'], ['missing', 'ignore'], ['size', ''], ['unmarked', '']]);
});

/** A bus that pauses the run (as a stop signal does) at the first event `when` picks. */
function pauseAt(when: (e: EngineEvent) => boolean) {
  const ac = new AbortController();
  const bus = new EventBus();
  let jobId: string | undefined;
  bus.subscribe((e) => {
    if (e.type === 'job:created') jobId = e.jobId;
    if (!ac.signal.aborted && when(e)) ac.abort(new S3migError('S3MIG_PAUSED', 'test pause'));
  });
  return { bus, signal: ac.signal, jobId: () => jobId! };
}

test('a comparison paused after a checkpoint and resumed counts the marks written before the pause too', async (t) => {
  const dir = await tempDir(t);
  const keys = Array.from({ length: 25_000 }, (_, i) => ({ key: `k/${String(i).padStart(6, '0')}`, size: 1, etag: MD5_A }));
  await writeInventory(dir, 's.ndjson', keys);
  await writeInventory(dir, 'd.ndjson', [{ key: 'k/zzz', size: 1, etag: MD5_A }]);
  const stateDir = join(dir, 'state');
  // Paused before the comparison starts, so the marks are there when its reports begin.
  const first = pauseAt((e) => e.type === 'job:state' && e.state === 'collecting-inventory');
  await assert.rejects(
    runReconcile({ source: 'inventory:s.ndjson', dest: 'inventory:d.ndjson', stateDir, reportDir: 'rep', cwd: dir, bus: first.bus, signal: first.signal }),
    { code: 'S3MIG_PAUSED' },
  );
  const id = first.jobId();
  const jobDir = jobPaths(stateDir, id).dir;
  await appendMarks(jobDir, ['k/000005'], 'ignore');
  await appendMarks(jobDir, ['k/020000', 'k/zzz'], 'accept');
  // Paused again at the first comparison checkpoint (10,000 keys): k/000005 is written, k/020000 not yet.
  const second = pauseAt((e) => e.type === 'compare:progress' && !e.done);
  await assert.rejects(resumeJob({ stateDir, id, bus: second.bus, signal: second.signal }), { code: 'S3MIG_PAUSED' });
  const summary = await resumeJob({ stateDir, id });
  assert.equal(summary.counts.missing, 25_000);
  assert.equal(summary.counts.extra, 1);
  assert.deepEqual(summary.reviewMarks, { ignore: 1, accept: 2 });
  const marked = (await readRows(summary.reports.differencesNdjson)).filter((r) => r.mark).map((r) => [r.key, r.mark]);
  assert.deepEqual(marked, [['k/000005', 'ignore'], ['k/020000', 'accept'], ['k/zzz', 'accept']]);
});
