// `s3mig schedule add|list|pause|resume|remove` (issue 8): the queue as an operator edits it; one-line errors.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.ts';
import { tempDir } from '../helpers.ts';

async function s3mig(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(args, { stdout, stderr });
  // main() sets the process's exit code, as the CLI must; this test process's own stays its own.
  process.exitCode = undefined;
  return { code, stdout: out, stderr: err };
}

async function stateDir(t: TestContext): Promise<string> {
  return join(await tempDir(t), 'state');
}

test('add a recurring and a one-shot schedule, list them (next run, no webhook URL), pause, resume, remove', async (t) => {
  const sd = await stateDir(t);
  const future = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const a = await s3mig(['schedule', 'add', 'old/media', 'new/media', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--fix', '--limit-upload', '10MiB', '--notify-webhook', 'https://hooks.example.net/x?token=sekrit', '--state-dir', sd]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /^schedule (sch-\d{8}-\d{6}-[0-9a-f]{6}): old\/media → new\/media, cron "30 2 \* \* \*" in Europe\/Berlin; next run \d{4}-\d\d-\d\d 02:30 CES?T/);
  assert.match(a.stderr, /the destination's alias does not resolve now/);
  const b = await s3mig(['schedule', 'add', 'old/media', 'other/media', '--at', future, '--missed', 'skip', '--state-dir', sd]);
  assert.equal(b.code, 0, b.stderr);
  const list = await s3mig(['schedule', 'list', '--json', '--state-dir', sd]);
  const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows.length, 2);
  const cron = rows.find((r) => (r.when as { kind: string }).kind === 'cron')!;
  assert.equal(cron.notifyWebhook, true, 'the URL (which may hold a token) is not printed');
  assert.ok(!list.stdout.includes('sekrit'));
  assert.deepEqual(cron.migrate, { fix: true, limitUpload: 10 * 1024 * 1024, reportDir: join(process.cwd(), 's3mig-reports') });
  assert.equal(typeof cron.nextRun, 'string');
  const once = rows.find((r) => (r.when as { kind: string }).kind === 'once')!;
  assert.equal(once.missed, 'skip');
  assert.equal(Date.parse(String(once.nextRun)), Date.parse(future));

  const id = String(cron.id);
  assert.match((await s3mig(['schedule', 'pause', id, '--state-dir', sd])).stdout, new RegExp(`schedule ${id}: paused`));
  let text = (await s3mig(['schedule', 'list', '--state-dir', sd])).stdout;
  assert.match(text, new RegExp(`${id}  paused`));
  assert.match(text, /next: paused/);
  assert.match((await s3mig(['schedule', 'resume', id, '--state-dir', sd])).stdout, /resumed/);
  text = (await s3mig(['schedule', 'list', '--state-dir', sd])).stdout;
  assert.match(text, new RegExp(`${id}  active`));
  assert.match((await s3mig(['schedule', 'remove', id, '--state-dir', sd])).stdout, /removed/);
  assert.equal((await s3mig(['schedule', 'list', '--json', '--state-dir', sd])).stdout.trim().split('\n').length, 1);
  const gone = await s3mig(['schedule', 'pause', id, '--state-dir', sd]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, new RegExp(`^s3mig: no schedule ${id} in .*\\n$`));
});

test('bad schedules are refused with one line and nothing is stored', async (t) => {
  const sd = await stateDir(t);
  const cases: [string[], RegExp][] = [
    [[], /give exactly one of --at .* and --cron/],
    [['--at', '2030-01-01T02:00:00', '--cron', '* * * * *'], /give exactly one of/],
    [['--at', '2030-01-01T02:00:00'], /has no UTC offset/],
    [['--at', '2001-01-01T02:00:00Z'], /is not in the future/],
    [['--cron', '30 2 * * *'], /--cron needs --tz/],
    [['--cron', '30 2 * * *', '--tz', 'Mars/Olympus'], /Mars\/Olympus/],
    [['--cron', '0 30 2 * * *', '--tz', 'UTC'], /seconds field is not supported/],
    [['--cron', '30 2 * * *', '--tz', 'UTC', '--limit-upload', 'fast'], /--limit-upload "fast" is not a rate/],
    [['--cron', '30 2 * * *', '--tz', 'UTC', '--notify-webhook', 'ftp://x/y'], /must be http or https/],
  ];
  for (const [extra, message] of cases) {
    const r = await s3mig(['schedule', 'add', 'old/media', 'new/media', ...extra, '--state-dir', sd]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.stderr, message, extra.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const inv = await s3mig(['schedule', 'add', 'inventory:x.ndjson', 'new/media', '--cron', '* * * * *', '--tz', 'UTC', '--state-dir', sd]);
  assert.equal(inv.code, 2);
  assert.match(inv.stderr, /needs a live source/);
  assert.deepEqual(await readdir(join(sd, 'schedules')).catch(() => []), []);
});
