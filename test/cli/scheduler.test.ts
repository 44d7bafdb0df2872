// `s3mig scheduler --headless` as an operator runs it: a schedule added with `s3mig schedule add` fires on
// time, migrates between two local S3 servers, POSTs its summary to the webhook once, and SIGTERM stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { endOf, runS3mig, spawnS3mig, twoLocalS3, webhookReceiver } from '../live-harness.ts';

test('scheduler --headless fires a one-shot schedule, notifies once, stops on SIGTERM', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  const servers = await twoLocalS3(t, { 'a.txt': 'alpha', 'docs/b.md': 'bravo' });
  const hook = await webhookReceiver(t);
  const env = servers.aliasEnv.env as Record<string, string>;
  const at = new Date(Date.now() + 3_000).toISOString();
  const added = await runS3mig(t, dir, ['schedule', 'add', 'src/media', 'dst/media', '--at', at, '--notify-webhook', hook.url, '--state-dir', stateDir], env);
  assert.equal(added.code, 0, added.stderr);
  const id = /schedule (sch-\S+):/.exec(added.stdout)![1]!;

  const scheduler = spawnS3mig(t, dir, ['scheduler', '--headless', '--state-dir', stateDir], env);
  await hook.received(1);
  const body = hook.bodies[0] as { type: string; schedule: { id: string }; summary: { outcome: string; kind: string } };
  assert.equal(body.type, 'summary');
  assert.equal(body.schedule.id, id);
  assert.equal(body.summary.kind, 'migrate');
  assert.equal(body.summary.outcome, 'clean');
  assert.deepEqual(await servers.destKeys(), ['a.txt', 'docs/b.md']);

  // A second scheduler is refused while the first owns the schedules.
  const second = await runS3mig(t, dir, ['scheduler', '--headless', '--state-dir', stateDir], env);
  assert.equal(second.code, 2);
  assert.match(second.stderr, /^s3mig: the schedules of .* are run by another s3mig process \(pid \d+\)/);

  scheduler.kill('SIGTERM');
  const end = await endOf(scheduler);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stdout, new RegExp(`fired ${id}`));
  assert.match(end.stdout, new RegExp(`finished ${id}`));
  assert.ok(!end.stdout.includes('t0k3n') && !end.stderr.includes('t0k3n'), 'the webhook token is never printed');
  assert.equal(hook.bodies.length, 1, 'exactly one POST');

  const list = await runS3mig(t, dir, ['schedule', 'list', '--json', '--state-dir', stateDir], env);
  const record = JSON.parse(list.stdout.trim()) as { done: boolean; runs: { state: string; notified: boolean; jobId: string }[] };
  assert.equal(record.done, true);
  assert.equal(record.runs.length, 1);
  assert.equal(record.runs[0]!.state, 'completed');
  assert.equal(record.runs[0]!.notified, true);
});

test('migrate --notify-webhook posts the summary when the job ends, and the failure when it fails', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  const servers = await twoLocalS3(t, { 'a.txt': 'alpha' });
  const hook = await webhookReceiver(t);
  const env = servers.aliasEnv.env as Record<string, string>;
  const ok = await runS3mig(t, dir, ['migrate', 'src/media', 'dst/media', '--notify-webhook', hook.url, '--state-dir', stateDir], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(hook.bodies.length, 1, 'the process waited for the POST');
  const sent = hook.bodies[0] as { type: string; summary: { outcome: string; job: string } };
  assert.equal(sent.type, 'summary');
  assert.equal(sent.summary.outcome, 'clean');

  const bad = await runS3mig(t, dir, ['migrate', 'src/media', 'dst/no-such-bucket', '--notify-webhook', hook.url, '--state-dir', stateDir], env);
  assert.equal(bad.code, 2);
  assert.equal(hook.bodies.length, 2);
  const failure = hook.bodies[1] as { type: string; error: string };
  assert.equal(failure.type, 'failure');
  assert.match(failure.error, /no-such-bucket/);
  assert.ok(!bad.stderr.includes('t0k3n'));
});
