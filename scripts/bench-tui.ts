// Does the dashboard slow the engine? Runs `s3mig reconcile` on two generated 1M-object listings twice:
// headless, and with the dashboard open in a pseudo-terminal (util-linux `script`), and compares the job's
// own time (summary.json timings.totalMs) and the wall time until its summary.
//
//   npm run bench:tui                        1,000,000 objects per side (inputs from npm run bench's cache)
//   npm run bench:tui -- --objects 200k
//
// The inputs are the listings `npm run bench` generates and caches in .bench/ (source-N.ndjson,
// dest-N.ndjson); when they are missing, this runs `npm run bench -- --skip-map --objects N` first.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO, UsageError, cleanup, parseBenchArgs, int, measure, onCleanup, parseCount, secs, stopOnSignals } from './bench-common.ts';

const USAGE = `usage: npm run bench:tui -- [--objects N] [--cols C --rows R]\n`;

function options(): { objects: number; cols: number; rows: number } {
  const values = parseBenchArgs(
    {
      objects: { type: 'string', default: '1000000' },
      cols: { type: 'string', default: '120' },
      rows: { type: 'string', default: '40' },
    },
    USAGE,
  );
  return {
    objects: parseCount(values.objects, '--objects', 1),
    cols: parseCount(values.cols, '--cols', 80),
    rows: parseCount(values.rows, '--rows', 24),
  };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function ensureInputs(objects: number): Promise<{ source: string; dest: string }> {
  const source = join(REPO, '.bench', `source-${objects}.ndjson`);
  const dest = join(REPO, '.bench', `dest-${objects}.ndjson`);
  if (!existsSync(source) || !existsSync(dest)) {
    process.stdout.write(`generating the inputs with npm run bench -- --skip-map --objects ${objects}\n`);
    const r = await measure(['npm', 'run', 'bench', '--', '--skip-map', '--objects', String(objects)], { tmp: REPO });
    if (r.code !== 0) throw new Error(`npm run bench failed: ${r.stderr.slice(-500)}`);
  }
  return { source, dest };
}

async function summaryOf(stateDir: string): Promise<{ totalMs: number; peakRssBytes: number; counts: Record<string, number> } | undefined> {
  const ids = await readdir(join(stateDir, 'jobs')).catch(() => [] as string[]);
  for (const id of ids) {
    const text = await readFile(join(stateDir, 'jobs', id, 'events.ndjson'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"type":"summary"')) continue;
      const s = JSON.parse(line) as { timings: { totalMs: number }; peakRssBytes: number; counts: Record<string, number> };
      return { totalMs: s.timings.totalMs, peakRssBytes: s.peakRssBytes, counts: s.counts };
    }
  }
  return undefined;
}

async function headless(tmp: string, source: string, dest: string) {
  const stateDir = join(tmp, 'headless');
  const m = await measure(['node', 'bin/s3mig.js', 'reconcile', `inventory:${source}`, `inventory:${dest}`, '--state-dir', stateDir, '--report-dir', join(stateDir, 'reports'), '--headless'], { tmp });
  if (m.code !== 1) throw new Error(`headless reconcile exited ${m.code}: ${m.stderr.slice(-500)}`);
  const s = await summaryOf(stateDir);
  if (!s) throw new Error('headless run wrote no summary event');
  return { wallMs: m.wallMs, ...s };
}

/** The dashboard run: under `script`, until the job's summary reaches its event log; then `q`. */
async function withDashboard(tmp: string, source: string, dest: string, cols: number, rows: number) {
  const stateDir = join(tmp, 'dashboard');
  const cmd = ['node', 'bin/s3mig.js', 'reconcile', `inventory:${source}`, `inventory:${dest}`, '--state-dir', stateDir, '--report-dir', join(stateDir, 'reports')];
  const line = `stty cols ${cols} rows ${rows}; exec ${cmd.map(shq).join(' ')}`;
  const t0 = performance.now();
  const child = spawn('script', ['-q', '-f', '-e', '-c', line, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, TERM: 'xterm-256color' } });
  let outBytes = 0;
  child.stdout!.on('data', (d: Buffer) => (outBytes += d.length));
  child.stderr!.resume();
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const unregister = onCleanup('dashboard run', async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  let summary: Awaited<ReturnType<typeof summaryOf>>;
  // A benchmark may poll: it measures, it does not sequence a test.
  for (;;) {
    summary = await summaryOf(stateDir);
    if (summary) break;
    if (child.exitCode !== null) throw new Error(`the dashboard run ended (${child.exitCode}) before its summary`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallMs = performance.now() - t0;
  const bytesAtSummary = outBytes;
  child.stdin!.write('q');
  const code = await exited;
  unregister();
  if (code !== 1) throw new Error(`dashboard reconcile exited ${code}`);
  return { wallMs, screenBytes: bytesAtSummary, ...summary };
}

async function main(): Promise<void> {
  stopOnSignals();
  const o = options();
  const { source, dest } = await ensureInputs(o.objects);
  const tmp = await mkdtemp(join(REPO, '.bench', 'tui-'));
  onCleanup('work dir', async () => {
    const { rm } = await import('node:fs/promises');
    await rm(tmp, { recursive: true, force: true });
  });
  process.stdout.write(`reconcile of ${int(o.objects)} objects per side, headless and with the dashboard (${o.cols}x${o.rows})\n`);
  const h = await headless(tmp, source, dest);
  process.stdout.write(`  headless:  job ${secs(h.totalMs)} (wall ${secs(h.wallMs)}), peak RSS ${int(Math.round(h.peakRssBytes / 2 ** 20))} MiB\n`);
  const d = await withDashboard(tmp, source, dest, o.cols, o.rows);
  process.stdout.write(`  dashboard: job ${secs(d.totalMs)} (to summary ${secs(d.wallMs)}), peak RSS ${int(Math.round(d.peakRssBytes / 2 ** 20))} MiB, ${int(d.screenBytes)} bytes drawn\n`);
  const same = JSON.stringify(h.counts) === JSON.stringify(d.counts);
  process.stdout.write(`  dashboard / headless: ${(d.totalMs / h.totalMs).toFixed(3)} (job time); counts ${same ? 'identical' : 'DIFFER'}\n`);
}

main()
  .catch((err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`${err.message}\n${USAGE}`);
    else process.stderr.write(`bench:tui: ${(err as Error).message}\n`);
    process.exitCode = 2;
  })
  .finally(() => cleanup());
