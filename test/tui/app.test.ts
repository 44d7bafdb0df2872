// The TUI on headless blessed screens (fake input and output streams): a finished reconciliation of the
// sample inventories is listed, opened, browsed, filtered, searched and marked; help and resize; NO_COLOR.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runReconcile } from '../../src/engine/reconcile-job.ts';
import { Workspace } from '../../src/engine/workspace.ts';
import { HANDLERS, runTui, type TuiResult } from '../../src/tui/app.ts';
import { KEYMAP } from '../../src/tui/keymap.ts';
import type { Summary } from '../../src/core/summary.ts';
import { MD5_A, tempDir, writeInventory } from '../helpers.ts';
import { endOf, mcHost, spawnS3mig, twoLocalS3 } from '../live-harness.ts';
import type { LiveEnv } from '../../src/engine/live-targets.ts';
import { main } from '../../src/cli/main.ts';
import { startStub } from '../stub-s3.ts';

const SAMPLES = fileURLToPath(new URL('../../sample-data/', import.meta.url));

interface FakeTerminal {
  input: PassThrough & { isTTY: boolean; setRawMode: (b: boolean) => void };
  output: PassThrough & { columns: number; rows: number; isTTY: boolean };
  written: () => string;
}

function fakeTerminal(columns: number, rows: number): FakeTerminal {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const output = Object.assign(new PassThrough(), { columns, rows, isTTY: true });
  let written = '';
  output.setEncoding('utf8');
  output.on('data', (d: string) => (written += d));
  return { input, output, written: () => written };
}

/** The screen blessed holds, as text lines. */
function screenText(screen: { lines: [unknown, string][][] }): string {
  return screen.lines.map((l) => l.map((c) => c[1]).join('').trimEnd()).join('\n');
}

async function finishedJob(t: TestContext): Promise<{ stateDir: string; summary: Summary }> {
  const dir = await mkdtemp(join(tmpdir(), 's3mig-tui-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const summary = await runReconcile({
    source: `inventory:${join(SAMPLES, 'source.ndjson')}`,
    dest: `inventory:${join(SAMPLES, 'dest.ndjson.gz')}`,
    stateDir,
    reportDir: join(dir, 'reports'),
  });
  return { stateDir, summary };
}

interface Session {
  app: { screen: { lines: [unknown, string][][]; on: (e: string, f: () => void) => void; off: (e: string, f: () => void) => void } };
  term: FakeTerminal;
  press: (...keys: string[]) => void;
  waitFor: (predicate: (text: string) => boolean, what: string) => Promise<string>;
  done: Promise<TuiResult>;
}

async function open(t: TestContext, stateDir: string, options: { columns?: number; rows?: number; noColor?: boolean; fps?: number; aliasEnv?: LiveEnv } = {}): Promise<Session> {
  const term = fakeTerminal(options.columns ?? 80, options.rows ?? 24);
  const ws = new Workspace(stateDir, options.aliasEnv ? { aliasEnv: options.aliasEnv } : {});
  let app: Session['app'] | undefined;
  const done = runTui({ workspace: ws, input: term.input, output: term.output, noColor: options.noColor ?? false, fps: options.fps ?? 50, onStart: (a) => (app = a as unknown as Session['app']) });
  t.after(async () => {
    term.input.write('q');
    await done.catch(() => undefined);
  });
  const waitFor = (predicate: (text: string) => boolean, what: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const text = screenText(app!.screen);
        if (predicate(text)) {
          app!.screen.off('render', check);
          clearTimeout(deadline);
          resolve(text);
        }
      };
      // A deadline for a failure message, not a step of the test.
      const deadline = setTimeout(() => {
        app!.screen.off('render', check);
        reject(new Error(`timed out waiting for ${what}; the screen:\n${screenText(app!.screen)}`));
      }, 10_000);
      app!.screen.on('render', check);
      check();
    });
  const KEYS: Record<string, string> = { enter: '\r', escape: '\x1b', tab: '\t', down: '\x1b[B', up: '\x1b[A', space: ' ', backspace: '\x7f' };
  const press = (...keys: string[]) => {
    for (const k of keys) term.input.write(KEYS[k] ?? k);
  };
  return { app: app!, term, press, waitFor, done };
}

test('every key of the keymap has a handler, and every handler a key', () => {
  for (const b of KEYMAP) assert.equal(typeof HANDLERS[b.action], 'function', `${b.action} has no handler`);
  const bound = new Set(KEYMAP.map((b) => b.action));
  for (const action of Object.keys(HANDLERS)) assert.ok(bound.has(action as never), `handler ${action} has no key`);
});

test('jobs list, dashboard, differences browser: filter, search, detail, marks, help, quit', async (t) => {
  const { stateDir, summary } = await finishedJob(t);
  const s = await open(t, stateDir);
  let text = await s.waitFor((x) => x.includes(summary.job), 'the job in the list');
  assert.match(text, /completed-with-differences/);
  s.press('enter');
  text = await s.waitFor((x) => x.includes('Verdicts') && x.includes('Progress'), 'the dashboard');
  assert.match(text, new RegExp(`missing\\s+${summary.counts.missing}\\b`));
  assert.ok(text.split('\n').length <= 24);
  s.press('enter');
  text = await s.waitFor((x) => x.includes('differences of'), 'the differences browser');
  const total = summary.counts.missing + summary.counts.extra + summary.counts.sizeMismatch + summary.counts.etagMismatch + summary.counts.unverified;
  assert.match(text, new RegExp(`${total} of ${total}`));
  s.press('t');
  text = await s.waitFor((x) => /missing.*, \d+ of/.test(x), 'the missing filter');
  assert.match(text, new RegExp(`, ${summary.counts.missing} of ${total}`));

  // Search for a key with non-ASCII characters, among all.
  const rows = (await readFile(join(stateDir, '..', 'reports', 'differences.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { key: string; category: string });
  const target = rows.find((r) => r.category === 'missing' && /[^\x00-\x7f]/.test(r.key)) ?? rows.find((r) => r.category === 'missing')!;
  const fragment = target.key.slice(-6);
  s.press('/');
  await s.waitFor((x) => x.includes('Search keys'), 'the search prompt');
  s.term.input.write(fragment);
  await s.waitFor((x) => x.includes(`/${fragment}`), 'the typed search');
  s.press('enter');
  await s.waitFor((x) => x.includes(`search "${fragment}"`), 'the search result');
  s.press('enter');
  text = await s.waitFor((x) => x.includes('only in the source'), 'the key detail');
  assert.ok(text.includes(fragment));
  s.press('escape');
  await s.waitFor((x) => !x.includes('only in the source'), 'the detail closed');

  // Review mark: persisted in the job, shown in the row.
  s.press('i');
  await s.waitFor((x) => x.includes('marked ignore'), 'the mark notice');
  const marks = await readFile(join(stateDir, 'jobs', summary.job, 'marks.ndjson'), 'utf8');
  assert.deepEqual(JSON.parse(marks.trim().split('\n').pop()!).mark, 'ignore');
  assert.equal(JSON.parse(marks.trim().split('\n').pop()!).key, target.key);

  // Export: another directory, differences.ndjson left out; the mark is in the exported reports.
  s.press('e');
  await s.waitFor((x) => x.includes('Export reports') && x.includes('Directory:'), 'the export dialog');
  const exportDir = join(stateDir, '..', 'exported');
  s.press('\x15'); // C-u clears the field
  s.term.input.write(exportDir);
  await s.waitFor((x) => x.includes('exported▏'), 'the typed directory');
  s.press('tab', 'tab');
  await s.waitFor((x) => /> \[x\] differences\.ndjson/.test(x), 'the ndjson option');
  s.press('space');
  await s.waitFor((x) => /> \[ \] differences\.ndjson/.test(x), 'the ndjson option off');
  s.press('enter');
  await s.waitFor((x) => x.includes(`exported 4 files to ${exportDir}`) || x.includes('exported 4 files'), 'the export notice');
  const csv = await readFile(join(exportDir, 'differences.csv'), 'utf8');
  assert.ok(csv.split(/\r?\n/)[0]!.endsWith(',review_mark'));
  assert.ok(csv.split(/\r?\n/).some((l) => l.includes(fragment) && l.endsWith(',ignore')), 'the mark is in the exported CSV');
  const summaryOut = JSON.parse(await readFile(join(exportDir, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summaryOut.reviewMarks?.ignore, 1);
  assert.deepEqual(summaryOut.counts, summary.counts, 'marks change no verdict');
  await readFile(join(exportDir, 'fix.sh'), 'utf8');
  await assert.rejects(readFile(join(exportDir, 'differences.ndjson'), 'utf8'), /ENOENT/);

  s.press('?');
  text = await s.waitFor((x) => x.includes('Keys: differences'), 'the help overlay');
  for (const b of KEYMAP.filter((k) => k.scope === 'differences')) assert.ok(text.includes(b.description), `help lacks "${b.description}"`);
  s.press('escape');
  await s.waitFor((x) => !x.includes('Keys: differences'), 'help closed');
  s.press('q');
  const result = await s.done;
  assert.deepEqual(result, {});
});

test('a resize redraws at the new size; NO_COLOR draws without colours', async (t) => {
  const { stateDir, summary } = await finishedJob(t);
  const s = await open(t, stateDir, { columns: 80, rows: 24, noColor: true });
  await s.waitFor((x) => x.includes(summary.job), 'the job in the list');
  s.press('enter');
  await s.waitFor((x) => x.includes('Verdicts'), 'the dashboard');
  Object.assign(s.term.output, { columns: 120, rows: 40 });
  s.term.output.emit('resize');
  const text = await s.waitFor((x) => x.split('\n').length >= 40 && x.split('\n').some((l) => l.length > 100), 'the larger layout');
  assert.ok(text.split('\n').every((l) => l.length <= 120));
  // Colours are SGR 30-37/90-97 (fg) and 38;5;N; NO_COLOR allows none.
  assert.doesNotMatch(s.term.written(), /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;5;\d+)(?:;[0-9;]*)?m/);
});

test('a job another process runs: live in the list and on its dashboard from its event log; p pauses it through its control socket', async (t) => {
  const dir = await tempDir(t);
  const stub = await startStub(t, 112_000, 111_000);
  t.after(() => stub.release());
  await writeInventory(dir, 'dst.ndjson', [{ key: 'obj-000000', size: 5, etag: MD5_A }]);
  const stateDir = join(dir, 'state');
  const child = spawnS3mig(t, dir, ['reconcile', 'stub/bkt', 'inventory:dst.ndjson', '--headless', '--list-concurrency', '1', '--report-dir', 'rep', '--state-dir', stateDir], {
    MC_HOST_stub: mcHost(stub.endpoint, 'stub-secret', 'STUBKEY'),
  });
  await stub.held;
  const s = await open(t, stateDir);
  await s.waitFor((x) => /● collecting-inventory/.test(x), 'the job marked as run by a process');
  s.press('enter');
  const text = await s.waitFor((x) => x.includes('collecting-inventory') && /source\s+\S+\s+101,000 entries|source\s+\S+\s+1[01]\d,\d{3}/.test(x), 'its progress from its event log');
  assert.ok(!text.includes('stub-secret'));
  s.press('p');
  await s.waitFor((x) => x.includes('pause requested (pid'), 'the request answered');
  const result = await endOf(child);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /paused by request from pid/);
  await s.waitFor((x) => / paused\b/.test(x), 'the pause seen in its event log');
});

test('rendering is throttled to 10 frames a second however many events arrive, one by one or at once', async (t) => {
  const { stateDir, summary } = await finishedJob(t);
  const s = await open(t, stateDir, { fps: 10 });
  await s.waitFor((x) => x.includes(summary.job), 'the job in the list');
  s.press('enter');
  await s.waitFor((x) => x.includes('Verdicts'), 'the dashboard');
  let frames = 0;
  const count = () => frames++;
  s.app.screen.on('render', count);
  t.after(() => s.app.screen.off('render', count));
  const ts = new Date().toISOString();
  const line = (i: number) =>
    JSON.stringify({ type: 'compare:progress', ts, jobId: summary.job, keys: i * 7, entries: i * 14, totalEntries: 70_000, rate: 1000, counts: { ...summary.counts, matched: i }, done: false }) + '\n';
  const events = join(stateDir, 'jobs', summary.job, 'events.ndjson');
  const t0 = performance.now();
  // Five hundred appends one after another (each one the follower may deliver alone), then 4,500 at once.
  for (let i = 1; i <= 500; i++) await appendFile(events, line(i));
  await appendFile(events, Array.from({ length: 4_500 }, (_, k) => line(501 + k)).join(''));
  await s.waitFor((x) => x.includes('35,000 keys'), 'the last event on screen');
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(frames <= Math.ceil(seconds * 10) + 2, `${frames} frames in ${seconds.toFixed(2)} s for 5,000 events`);
});

test('schedules view: the TUI owns the scheduler; a schedule due in seconds runs, rings the bell; p pauses, x removes (asks)', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  const servers = await twoLocalS3(t, { 'a.txt': 'alpha', 'docs/b.md': 'bravo', '写真/c.jpg': 'jpeg' });
  const quiet = { stdout: new PassThrough(), stderr: new PassThrough() };
  quiet.stdout.resume();
  quiet.stderr.resume();
  const at = new Date(Date.now() + 2_000).toISOString();
  assert.equal(await main(['schedule', 'add', 'src/media', 'dst/media', '--at', at, '--report-dir', join(dir, 'reports'), '--state-dir', stateDir], quiet), 0);
  assert.equal(await main(['schedule', 'add', 'src/media', 'dst/media', '--cron', '30 2 * * *', '--tz', 'America/New_York', '--state-dir', stateDir], quiet), 0);
  process.exitCode = undefined;
  const s = await open(t, stateDir, { columns: 180, rows: 30, aliasEnv: servers.aliasEnv });
  s.press('tab');
  let text = await s.waitFor((x) => x.includes('fired by this window') && (x.match(/sch-\d{8}/g) ?? []).length >= 2, 'the schedules view');
  assert.match(text, /cron "30 2 \* \* \*" in America\/New_York/);
  assert.match(text, /02:30 E[SD]T/, 'the next run in the schedule zone');
  text = await s.waitFor((x) => /schedule sch-\S+: .*(completed|differences)/.test(x), 'the run finished, told in the footer');
  assert.ok(s.term.written().includes('\x07'), 'the bell rang');
  assert.deepEqual(await servers.destKeys(), ['a.txt', 'docs/b.md', '写真/c.jpg']);
  await s.waitFor((x) => /done\s+src\/media → dst\/media/.test(x), 'the one-shot done');

  // The cron schedule is the second row (oldest first): pause it, then remove it.
  s.press('down');
  s.press('p');
  await s.waitFor((x) => /paused\s+src\/media → dst\/media\s+cron/.test(x), 'the schedule paused');
  s.press('x');
  await s.waitFor((x) => x.includes('Remove?'), 'the remove question');
  s.press('y');
  await s.waitFor((x) => (x.match(/│sch-\d{8}/g) ?? []).length === 1 && x.includes('removed'), 'the schedule removed');
});
