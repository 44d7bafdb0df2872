// Tests for fix.sh: the exact lines per verdict, and real bash runs against a recording mc that check every argv.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixScriptFooter, fixScriptHeader, fixScriptLines } from '../../src/report/fix-script.ts';
import { planFor } from '../../src/core/fix-plan.ts';
import type { TargetRecord } from '../../src/core/job-record.ts';
import type { Verdict } from '../../src/core/reconcile.ts';
import { entry, MD5_A, MD5_B, parseMcRecord, tempDir } from '../helpers.ts';

const MC_RECORD_FIXTURE = fileURLToPath(new URL('../fixtures/mc-record', import.meta.url));

const LONG_ASCII = `long/${'x'.repeat(1019)}`;
const LONG_UTF8 = 'é'.repeat(512);

/** Keys that would break a naively quoted script, each addressable by mc. */
const HOSTILE = [
  '$(touch pwned)',
  '`touch pwned2`',
  "'; touch pwned3; '",
  '"; touch pwned4; "',
  '${IFS}$HOME$(touch pwned5)',
  'a\nb',
  'a\rb',
  'line\n$(touch pwned6)\n',
  '\u0001\u001b[31m',
  '\u007f\t\v\f',
  'back\\slash\\\\',
  '\\',
  'trailing\\',
  '-rf',
  '--help',
  '#hash',
  '*?[a]{b,c}~',
  'a b  c',
  LONG_ASCII,
  LONG_UTF8,
  '😀 emoji/🚀👨‍👩‍👧',
  'cafe\u0301/nfd',
  'caf\u00e9/nfc',
  'both \' and "',
  "$'\\x41'",
  '\u2028\u2029\u0085\u202e',
];

/** Keys mc would path-clean: they must never reach an mc command. */
const NATIVE = ['a//b', 'dir/', '/lead', './dot', '../up', 'a/./b', 'a/..', '$(touch pwned7)//x'];

const SRC_SPEC = "src/bucket/pre $(touch pwned8) 'q'\u0001\n/";
const SRC_VALUE = "src/bucket/pre $(touch pwned8) 'q'\u0001\n";
const LIVE_SRC: TargetRecord = { kind: 'live', spec: SRC_SPEC };
const LIVE_DST: TargetRecord = { kind: 'live', spec: 'dst/bucket' };
const INV_SRC: TargetRecord = { kind: 'inventory', spec: 'inventory:src.ndjson', path: '/tmp/src\n$(touch pwned9).ndjson' };
const INV_DST: TargetRecord = { kind: 'inventory', spec: 'inventory:dst.ndjson\nmc rm everything', path: '/tmp/dst.ndjson' };

const missing = (key: string): Verdict => ({ key, category: 'missing', source: entry(key), dest: null });
const extra = (key: string): Verdict => ({ key, category: 'extra', source: null, dest: entry(key) });

function verdicts(): Verdict[] {
  return [
    ...HOSTILE.map(missing),
    ...HOSTILE.map((k) => extra(`old/${k}`)),
    ...NATIVE.map(missing),
    ...NATIVE.map(extra),
    { key: "size'd", category: 'sizeMismatch', source: entry("size'd", 10), dest: entry("size'd", 11) },
    { key: 'etag\n', category: 'etagMismatch', source: entry('etag\n', 10, MD5_A), dest: entry('etag\n', 10, MD5_B) },
    { key: 'multi$(touch pwned10)', category: 'unverified', source: entry('m', 10, `${MD5_A}-2`), dest: entry('m', 10, MD5_B) },
    { key: 'same\r', category: 'matched', source: entry('same\r', 10, MD5_A), dest: entry('same\r', 10, MD5_A) },
  ];
}

interface Build {
  source?: TargetRecord;
  dest?: TargetRecord;
  deleteExtras: boolean;
  complete: boolean;
  liveSpec?: { source?: string; dest?: string };
  list?: Verdict[];
}

function buildScript(b: Build): string {
  const o = { deleteExtras: b.deleteExtras, complete: b.complete };
  let script = fixScriptHeader({
    jobId: 'job-1',
    source: b.source ?? LIVE_SRC,
    dest: b.dest ?? LIVE_DST,
    ...o,
    ...(b.liveSpec ? { liveSpec: b.liveSpec } : {}),
  });
  for (const v of b.list ?? verdicts()) script += fixScriptLines(v, planFor(v, o), o);
  return script + fixScriptFooter();
}

interface Run {
  status: number | null;
  stderr: string;
  calls: string[][];
  /** Everything in the working folder besides fix.sh, the record and the bin folder. */
  leftovers: string[];
}

async function runScript(t: TestContext, script: string, env: Record<string, string> = {}): Promise<Run> {
  const dir = await tempDir(t, 's3mig-fix-');
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await symlink(MC_RECORD_FIXTURE, join(bin, 'mc'));
  await writeFile(join(dir, 'fix.sh'), script);
  const record = join(dir, 'mc.record');
  const base = { ...process.env };
  delete base.SRC;
  delete base.DST;
  delete base.MC_FAIL_ON;
  const r = spawnSync('bash', ['fix.sh'], {
    cwd: dir,
    env: { ...base, PATH: `${bin}:${process.env.PATH ?? ''}`, MC_RECORD: record, ...env },
    encoding: 'utf8',
  });
  const buf = await readFile(record).catch(() => Buffer.alloc(0));
  const leftovers = (await readdir(dir)).filter((f) => !['fix.sh', 'mc.record', 'bin'].includes(f));
  return { status: r.status, stderr: r.stderr, calls: parseMcRecord(buf), leftovers };
}

const cp = (key: string, src = SRC_VALUE, dst = 'dst/bucket') => ['cp', `${src}/${key}`, `${dst}/${key}`];
const rm = (key: string, dst = 'dst/bucket') => ['rm', `${dst}/${key}`];

/** The mc calls for verdicts(), in script order; extras are deleted only when `deletes`. */
function expectedCalls(deletes: boolean): string[][] {
  return [...HOSTILE.map((k) => cp(k)), ...(deletes ? HOSTILE.map((k) => rm(`old/${k}`)) : []), cp("size'd"), cp('etag\n')];
}

/** The comment lines of a script that keep an extra, with the reason they give. */
function keptExtras(script: string, why: string): string[] {
  return script.split('\n').filter((l) => l.startsWith('# extra, review before deleting: ') && l.endsWith(`(${why})`));
}

/** The lines after `failed=0` and before the footer: one per verdict that is not matched. */
function body(script: string): string[] {
  const lines = script.split('\n');
  const from = lines.indexOf('failed=0') + 1;
  const to = lines.findIndex((l) => l.startsWith("printf 's3mig fix: %d"));
  return lines.slice(from, to);
}

test('the mc-record fixture is executable', async () => {
  assert.ok(((await stat(MC_RECORD_FIXTURE)).mode & 0o111) !== 0);
});

test('table: fixScriptLines for one verdict', () => {
  const all = { deleteExtras: true, complete: true };
  const none = { deleteExtras: false, complete: true };
  const partial = { deleteExtras: true, complete: false };
  const cases: { what: string; v: Verdict; o: typeof all; want: string }[] = [
    {
      what: 'copy',
      v: missing("it's"),
      o: none,
      want: `mc cp "$SRC/"'it'\\''s' "$DST/"'it'\\''s' || failed=$((failed+1))\n`,
    },
    {
      what: 'copy, ANSI-C key',
      v: missing('a\nb'),
      o: none,
      want: `mc cp "$SRC/"$'a\\x0ab' "$DST/"$'a\\x0ab' || failed=$((failed+1))\n`,
    },
    { what: 'delete', v: extra('-rf'), o: all, want: `mc rm "$DST/"'-rf' || failed=$((failed+1))\n` },
    {
      what: 'extra kept, not asked',
      v: extra('x\r'),
      o: none,
      want: "# extra, review before deleting: $'x\\x0d' (not deleted: --delete-extras was not given)\n",
    },
    {
      what: 'extra kept, incomplete run',
      v: extra('x'),
      o: partial,
      want: "# extra, review before deleting: 'x' (not deleted: the run was incomplete)\n",
    },
    {
      what: 'native engine',
      v: missing('a//b\n'),
      o: none,
      want: "# needs the native engine (mc would rewrite this key): $'a//b\\x0a' (copy: only in the source)\n",
    },
    {
      what: 'native engine, NUL in the key',
      v: missing('a\u0000b'),
      o: none,
      want: '# needs the native engine (mc would rewrite this key): "a\\u0000b" (copy: only in the source)\n',
    },
    {
      what: 'unverified',
      v: { key: 'u', category: 'unverified', source: entry('u', 5, `${MD5_A}-2`), dest: entry('u', 5, MD5_A) },
      o: all,
      want: "# unverified (not copied): 'u' (same size, but an ETag is multipart (md5-N): content not proven equal)\n",
    },
    { what: 'matched', v: { key: 'm', category: 'matched', source: entry('m'), dest: entry('m') }, o: all, want: '' },
  ];
  for (const c of cases) assert.equal(fixScriptLines(c.v, planFor(c.v, c.o), c.o), c.want, c.what);
});

test('fixScriptLines never writes mc rm for an incomplete run or without --delete-extras, whatever the plan says', () => {
  const v = extra('k');
  const forced = planFor(v, { deleteExtras: true, complete: true });
  assert.equal(forced?.action, 'delete');
  assert.doesNotMatch(fixScriptLines(v, forced, { deleteExtras: true, complete: false }), /mc rm/);
  assert.doesNotMatch(fixScriptLines(v, forced, { deleteExtras: false, complete: true }), /mc rm/);
});

test('the whole script: only printable lines, one per verdict, and it passes bash -n', async (t) => {
  const script = buildScript({ deleteExtras: true, complete: true });
  assert.doesNotMatch(script, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no control character but newline');
  assert.ok(script.startsWith('#!/usr/bin/env bash\n'));
  assert.match(script, /\nset -u\n/);
  const list = verdicts().filter((v) => v.category !== 'matched');
  assert.equal(body(script).length, list.length);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'fix.sh'), script);
  execFileSync('bash', ['-n', join(dir, 'fix.sh')]);
});

test('live targets with --delete-extras: every hostile key reaches mc intact, nothing else runs', async (t) => {
  const r = await runScript(t, buildScript({ deleteExtras: true, complete: true }), { LC_ALL: 'C.UTF-8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /0 mc command\(s\) failed/);
  assert.deepEqual(r.calls, expectedCalls(true));
  assert.deepEqual(r.leftovers, [], 'no pwned file');
  assert.ok(r.calls.some((c) => c[1] === `${SRC_VALUE}/${LONG_ASCII}` && Buffer.byteLength(LONG_ASCII) === 1024));
  assert.ok(r.calls.some((c) => c[1] === `${SRC_VALUE}/${LONG_UTF8}` && Buffer.byteLength(LONG_UTF8) === 1024));
  assert.ok(r.calls.some((c) => c[1].endsWith('/cafe\u0301/nfd')) && r.calls.some((c) => c[1].endsWith('/caf\u00e9/nfc')));
});

test('without --delete-extras: copies only, extras left as comments', async (t) => {
  const script = buildScript({ deleteExtras: false, complete: true });
  assert.doesNotMatch(script, /^mc rm/m);
  assert.equal(keptExtras(script, 'not deleted: --delete-extras was not given').length, HOSTILE.length + NATIVE.length);
  const r = await runScript(t, script, { LC_ALL: 'C' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, expectedCalls(false));
  assert.deepEqual(r.leftovers, []);
});

test('an incomplete run never deletes, even with --delete-extras', async (t) => {
  const script = buildScript({ deleteExtras: true, complete: false });
  assert.doesNotMatch(script, /mc rm/);
  assert.match(script, /^# The reconciliation run was incomplete: .*nothing is deleted\.$/m);
  assert.equal(keptExtras(script, 'not deleted: the run was incomplete').length, HOSTILE.length + NATIVE.length);
  const r = await runScript(t, script);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, expectedCalls(false));
  assert.deepEqual(r.leftovers, []);
});

test('keys mc would rewrite get a native-engine comment and no mc call', async (t) => {
  const list = [...NATIVE.map(missing), ...NATIVE.map(extra)];
  const script = buildScript({ deleteExtras: true, complete: true, list });
  assert.deepEqual(
    body(script).map((l) => l.startsWith('# needs the native engine (mc would rewrite this key): ')),
    list.map(() => true),
  );
  const r = await runScript(t, script);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.calls, []);
  assert.deepEqual(r.leftovers, []);
});

test('table: inventory sides refuse to run until SRC/DST are set, then run', async (t) => {
  const list = [missing('$(touch pwned)'), extra('-rf')];
  const cases: {
    what: string;
    source: TargetRecord;
    dest: TargetRecord;
    liveSpec?: { source?: string; dest?: string };
    env: Record<string, string>;
    status: number;
    stderr?: RegExp;
    calls: string[][];
  }[] = [
    { what: 'source inventory, SRC unset', source: INV_SRC, dest: LIVE_DST, env: {}, status: 2, stderr: /SRC is not set\. The source .*saved inventory file.*SRC=alias\/bucket\[\/prefix\]/, calls: [] },
    { what: 'source inventory, SRC empty', source: INV_SRC, dest: LIVE_DST, env: { SRC: '' }, status: 2, stderr: /SRC is not set/, calls: [] },
    { what: 'dest inventory, DST unset', source: LIVE_SRC, dest: INV_DST, env: {}, status: 2, stderr: /DST is not set\. The destination .*saved inventory file.*DST=alias\/bucket\[\/prefix\]/, calls: [] },
    { what: 'both inventories, only SRC set', source: INV_SRC, dest: INV_DST, env: { SRC: 'a/b' }, status: 2, stderr: /DST is not set/, calls: [] },
    { what: 'SRC starting with a dash', source: INV_SRC, dest: LIVE_DST, env: { SRC: '-rf/b' }, status: 2, stderr: /SRC starts with "-"/, calls: [] },
    { what: 'DST overriding a live side with a dash', source: LIVE_SRC, dest: LIVE_DST, env: { DST: '--help' }, status: 2, stderr: /DST starts with "-"/, calls: [] },
    { what: 'SRC a local path', source: INV_SRC, dest: LIVE_DST, env: { SRC: '/tmp/x' }, status: 2, stderr: /SRC must look like alias\/bucket/, calls: [] },
    { what: 'DST only an alias', source: LIVE_SRC, dest: INV_DST, env: { DST: 'alias/' }, status: 2, stderr: /DST must look like alias\/bucket/, calls: [] },
    {
      what: 'both inventories, both set (trailing slashes dropped)',
      source: INV_SRC,
      dest: INV_DST,
      env: { SRC: 'a/b/p//', DST: 'c/d/' },
      status: 0,
      calls: [cp('$(touch pwned)', 'a/b/p', 'c/d'), rm('-rf', 'c/d')],
    },
    {
      what: 'liveSpec gives an inventory side its default',
      source: INV_SRC,
      dest: INV_DST,
      liveSpec: { source: 'l/src/', dest: 'l/dst' },
      env: {},
      status: 0,
      calls: [cp('$(touch pwned)', 'l/src', 'l/dst'), rm('-rf', 'l/dst')],
    },
    {
      what: 'SRC and DST override live defaults',
      source: LIVE_SRC,
      dest: LIVE_DST,
      env: { SRC: 'o/s', DST: 'o/d' },
      status: 0,
      calls: [cp('$(touch pwned)', 'o/s', 'o/d'), rm('-rf', 'o/d')],
    },
  ];
  for (const c of cases) {
    const script = buildScript({ source: c.source, dest: c.dest, deleteExtras: true, complete: true, list, ...(c.liveSpec ? { liveSpec: c.liveSpec } : {}) });
    const r = await runScript(t, script, c.env);
    assert.equal(r.status, c.status, `${c.what}: ${r.stderr}`);
    if (c.stderr) assert.match(r.stderr, c.stderr, c.what);
    assert.deepEqual(r.calls, c.calls, c.what);
    assert.deepEqual(r.leftovers, [], c.what);
  }
});

test('failed mc commands are counted, the rest still run, and the script exits 1', async (t) => {
  const list = [missing('one'), missing('two-FAIL'), missing('three'), extra('four-FAIL')];
  const r = await runScript(t, buildScript({ deleteExtras: true, complete: true, list }), { MC_FAIL_ON: 'FAIL' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /s3mig fix: 2 mc command\(s\) failed/);
  assert.deepEqual(r.calls, [cp('one'), cp('two-FAIL'), cp('three'), rm('four-FAIL')]);
});
