// End to end: `s3mig demo` in a pseudo-terminal (util-linux script) read by a headless terminal emulator.
// It waits for the migration's comparison by the job's event log, opens help, filters the differences,
// fixes two of them with confirmation, re-verifies everything, and checks the screen and the bucket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { connect } from '../../src/s3/client.ts';
import { Secret } from '../../src/core/secret.ts';
import { followEvents } from '../../src/engine/event-follower.ts';
import type { EngineEvent } from '../../src/engine/events.ts';
import type { JobRecord } from '../../src/core/job-record.ts';
import type { Summary } from '../../src/core/summary.ts';
import { LOCAL_S3_ACCESS_KEY, LOCAL_S3_SECRET_KEY } from '../../src/testing/s3-server.ts';
import { startPty } from './pty.ts';

const BIN = fileURLToPath(new URL('../../bin/s3mig.js', import.meta.url));
const JOB_ID = /\b\d{8}-\d{6}-[0-9a-f]{6}\b/;

/** Events of a job's log as they arrive; `next` resolves with the first event after the last taken that matches. */
function eventsOf(path: string) {
  const seen: EngineEvent[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  const follower = followEvents(path, (events) => {
    seen.push(...events);
    wake?.();
  });
  const next = async <T extends EngineEvent>(match: (e: EngineEvent) => e is T): Promise<T> => {
    for (;;) {
      for (; taken < seen.length; taken++) {
        const e = seen[taken]!;
        if (match(e)) {
          taken++;
          return e;
        }
      }
      await new Promise<void>((r) => (wake = r));
    }
  };
  return { next, close: () => follower.close(), seen };
}

const isSummary = (e: EngineEvent): e is Extract<EngineEvent, { type: 'summary' }> => e.type === 'summary';

test('the demo in a terminal: dashboard, help, filter, fix with confirmation, re-verify', { timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 's3mig-e2e-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const s = startPty('node', [BIN, 'demo', '--state-dir', stateDir, '--report-dir', join(dir, 'reports')], { cols: 100, rows: 30, cwd: dir, env: { NO_COLOR: undefined } });
  t.after(() => s.close());

  // The dashboard names the job; its event log says when the comparison has finished.
  const first = await s.waitForScreen((x) => JOB_ID.test(x) && x.includes('Verdicts'), 'the dashboard of the demo job', 60_000);
  const jobId = JOB_ID.exec(first)![0];
  const log = eventsOf(join(stateDir, 'jobs', jobId, 'events.ndjson'));
  t.after(() => log.close());
  const summary = (await log.next(isSummary)) as Summary;
  assert.equal(summary.kind, 'migrate');
  assert.equal(summary.outcome, 'differences');
  assert.ok(summary.counts.sizeMismatch >= 2, 'the demo seeds size mismatches');
  let screen = await s.waitForScreen((x) => x.includes('DIFFERENCES FOUND'), 'the outcome on the dashboard');
  assert.match(screen, new RegExp(`size mismatch\\s+${summary.counts.sizeMismatch}\\b`));
  assert.match(screen, /transfer/);

  // Help, generated from the keymap.
  s.press('?');
  screen = await s.waitForScreen((x) => x.includes('Keys: dashboard'), 'the help overlay');
  assert.match(screen, /cancel the job\s+\(asks first\)/);
  s.press('escape');
  await s.waitForScreen((x) => !x.includes('Keys: dashboard'), 'help closed');

  // The differences browser, filtered to size mismatches (t: all -> missing -> extra -> size mismatch).
  s.press('enter');
  await s.waitForScreen((x) => x.includes(`differences of ${jobId}: all`), 'the differences browser');
  for (const label of ['missing', 'extra', 'size mismatch']) {
    s.press('t');
    await s.waitForScreen((x) => x.includes(`differences of ${jobId}: ${label},`), `the ${label} filter`);
  }
  screen = s.screenText();
  assert.ok(screen.includes(`: size mismatch, ${summary.counts.sizeMismatch} of `), screen);

  // Select the first two and fix them, with confirmation.
  const reportRows = (await readFile(join(dir, 'reports', 'differences.ndjson'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; category: string; source: { size: number } | null });
  const chosen = reportRows.filter((r) => r.category === 'sizeMismatch').slice(0, 2);
  s.press('space');
  await s.waitForScreen((x) => x.includes('1 selected'), 'one selected');
  s.press('space');
  await s.waitForScreen((x) => x.includes('2 selected'), 'two selected');
  s.press('f');
  screen = await s.waitForScreen((x) => x.includes('Fix the 2 selected'), 'the fix dialog');
  assert.match(screen, /copy 2 object/);
  assert.match(screen, /delete nothing/);
  s.press('y');
  const fixed = (await log.next(isSummary)) as Summary;
  assert.equal(fixed.counts.sizeMismatch, summary.counts.sizeMismatch - 2);
  await s.waitForScreen((x) => x.includes('fix done'), 'the fix notice');
  await s.waitForScreen((x) => x.includes(`size mismatch, ${summary.counts.sizeMismatch - 2} of`), 'the browser reloaded');

  // The destination holds the source's objects for the two keys now.
  const record = JSON.parse(await readFile(join(stateDir, 'jobs', jobId, 'job.json'), 'utf8')) as JobRecord;
  const dst = connect({ url: record.dest.endpoint!, region: 'us-east-1', pathStyle: true }, { accessKey: LOCAL_S3_ACCESS_KEY, secretKey: new Secret(LOCAL_S3_SECRET_KEY) });
  t.after(() => dst.destroy());
  for (const row of chosen) {
    const head = await dst.client.send(new HeadObjectCommand({ Bucket: record.dest.bucket!, Key: record.dest.prefix + row.key }));
    assert.equal(head.ContentLength, row.source!.size, row.key);
  }

  // Re-verify everything: nothing changes in the buckets, the verdicts stay as the fix left them.
  s.press('v');
  const reverified = (await log.next(isSummary)) as Summary;
  assert.deepEqual(reverified.counts, fixed.counts);
  await s.waitForScreen((x) => x.includes('re-verify done'), 'the re-verify notice');

  // Deleting an extra: an option of the fix dialog, with its own confirmation.
  for (const label of ['etag mismatch', 'unverified', 'all', 'missing', 'extra']) {
    s.press('t');
    await s.waitForScreen((x) => x.includes(`differences of ${jobId}: ${label},`), `the ${label} filter`);
  }
  const extraKey = reportRows.find((r) => r.category === 'extra')!.key;
  s.press('/');
  await s.waitForScreen((x) => x.includes('Search keys'), 'the search prompt');
  s.type(extraKey);
  s.press('enter');
  await s.waitForScreen((x) => x.includes(`search "${extraKey}"`), 'the extra found');
  s.press('space');
  await s.waitForScreen((x) => x.includes('1 selected'), 'the extra selected');
  s.press('f');
  await s.waitForScreen((x) => x.includes('[ ] also delete the 1 extra object'), 'the fix dialog with the delete option');
  s.press('space');
  await s.waitForScreen((x) => x.includes('[x] also delete the 1 extra object') && x.includes('delete 1 object(s)'), 'deletion chosen');
  s.press('y');
  await s.waitForScreen((x) => x.includes('Delete?') && x.includes('cannot be undone'), 'the second confirmation');
  s.press('y');
  const deleted = (await log.next(isSummary)) as Summary;
  assert.equal(deleted.counts.extra, fixed.counts.extra - 1);
  await assert.rejects(dst.client.send(new HeadObjectCommand({ Bucket: record.dest.bucket!, Key: record.dest.prefix + extraKey })), /NotFound|404/);

  // Quit: nothing runs, so no question; the demo stops its servers and exits 0.
  s.press('q');
  assert.equal(await s.exited, 0);
  assert.match(s.raw(), /DIFFERENCES FOUND|differences/);
});
