// Tests of the pseudo-terminal harness (test/tui/pty.ts) with a tiny blessed program and plain shell commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import stringWidth from 'string-width';
import { keyBytes, shQuote, startPty } from './pty.ts';

const ECHO = fileURLToPath(new URL('../fixtures/tui-echo.mjs', import.meta.url));

test('a blessed program under the pty: box, keys, wide text, resize and exit code', async (t) => {
  const s = startPty(process.execPath, [ECHO], { cols: 100, rows: 30 });
  t.after(() => s.close());

  await s.waitForScreen((text) => text.includes('size 100x30') && text.includes('key: (none)') && text.includes('└'), 'the box at 100x30');
  const lines = s.screen();
  assert.equal(lines.length, 30);
  // Unicode box drawing, not ACS letters (lqkx) nor ASCII.
  assert.match(lines[0]!, /^┌─+┐$/);
  assert.equal(lines[0]!.length, 100);
  assert.match(lines[1]!, /^│size 100x30 +│$/);
  assert.match(lines[29]!, /^└─+┘$/);

  // 'ok' after the CJK and emoji sits at display column 9 (│=1, 写真=4, ' '=1, 😀=2, ' '=1), and the row is 100 columns wide.
  const wide = lines.find((l) => l.includes('写真'));
  assert.ok(wide, 'the wide-text line is drawn');
  assert.equal(stringWidth(wide.slice(0, wide.indexOf('ok'))), 9);
  assert.ok(wide.startsWith('│写真 😀 ok'));
  assert.ok(wide.endsWith('│'));
  assert.equal(stringWidth(wide), 100);

  s.press('j');
  await s.waitForScreen((text) => text.includes('key: j'), 'key j shown');
  s.press('down');
  await s.waitForScreen((text) => text.includes('key: down'), 'key down shown');
  s.press('C-x');
  await s.waitForScreen((text) => text.includes('key: C-x'), 'key C-x shown');
  s.press('pagedown');
  await s.waitForScreen((text) => text.includes('key: pagedown'), 'key pagedown shown');
  s.type('abc'); // several keys in one chunk: the last one wins
  await s.waitForScreen((text) => text.includes('key: c'), 'last typed key shown');

  s.resize(80, 24);
  const after = await s.waitForScreen((text) => text.includes('size 80x24'), 'the new size drawn');
  const resized = after.split('\n');
  assert.equal(resized.length, 24);
  assert.match(resized[0]!, /^┌─{78}┐$/);
  assert.match(resized[23]!, /^└─{78}┘$/);
  assert.match(resized[1]!, /^│size 80x24 +│$/);

  s.press('q');
  assert.equal(await s.exited, 0);
  assert.match(s.raw(), /\x1b\[\?1049h/, 'raw output keeps the escape sequences');
});

test('arguments with spaces and quotes reach the program intact, and its exit code is returned', async (t) => {
  const s = startPty('sh', ['-c', 'printf "[%s]" "$@"; stty size; exit 7', 'sh', 'a  b', "it's", '$HOME;x'], { cols: 60, rows: 10 });
  t.after(() => s.close());
  assert.equal(await s.exited, 7);
  assert.equal(s.screen()[0], "[a  b][it's][$HOME;x]10 60");
});

test('a resize sent right after start reaches the pty, and typed input is not echoed by the pty', async (t) => {
  const s = startPty('sh', ['-c', 'read line; echo "got $line"; stty size'], { cols: 60, rows: 10 });
  t.after(() => s.close());
  s.resize(50, 7); // before the pty's name is known: applied once it is
  s.type('hello');
  s.press('enter');
  assert.equal(await s.exited, 0);
  assert.deepEqual(s.screen().slice(0, 3), ['got hello', '7 50', '']);
  assert.equal(s.screen().length, 7);
});

test('a character split across output chunks is drawn whole', async (t) => {
  // 写 is E5 86 99: the program prints two of its bytes, waits for a key, then prints the third.
  const s = startPty('sh', ['-c', "printf 'A\\345\\206'; read x; printf '\\231B'"], { cols: 20, rows: 3 });
  t.after(() => s.close());
  await s.waitForScreen((text) => text.startsWith('A'), 'the first chunk');
  s.press('enter');
  assert.equal(await s.exited, 0);
  assert.equal(s.screen()[0], 'A写B');
  assert.equal(s.raw(), 'A写B');
});

test('waitForScreen rejects with the screen when the program exits first, and after its deadline', async (t) => {
  const quick = startPty('sh', ['-c', 'echo bye'], { cols: 40, rows: 5 });
  t.after(() => quick.close());
  await assert.rejects(quick.waitForScreen((text) => text.includes('never'), 'a word never printed'), /program exited \(code 0\) before a word never printed; screen:\nbye/);

  const idle = startPty('sh', ['-c', 'echo waiting; exec cat >/dev/null'], { cols: 40, rows: 5 });
  t.after(() => idle.close());
  await idle.waitForScreen((text) => text.includes('waiting'), 'the prompt');
  await assert.rejects(idle.waitForScreen((text) => text.includes('never'), 'a word never printed', 300), /timed out after 300 ms waiting for a word never printed; screen:\nwaiting/);
});

test('close() ends the program and script, twice without harm', async () => {
  const s = startPty('sh', ['-c', 'echo pid $$; exec sleep 1000'], { cols: 40, rows: 5 });
  const text = await s.waitForScreen((x) => /pid \d+/.test(x), 'the pid');
  const pid = Number(/pid (\d+)/.exec(text)![1]);
  assert.doesNotThrow(() => process.kill(pid, 0));
  await s.close();
  await s.close();
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  assert.equal(await s.exited, 143); // 128 + SIGTERM, as `script --return` reports a signalled child
  await assert.rejects(s.waitForScreen(() => true, 'anything'), /session closed/);
});

test('keyBytes and shQuote', () => {
  assert.equal(keyBytes('enter'), '\r');
  assert.equal(keyBytes('escape'), '\x1b');
  assert.equal(keyBytes('pageup'), '\x1b[5~');
  assert.equal(keyBytes('C-c'), '\x03');
  assert.equal(keyBytes('backspace'), '\x7f');
  assert.equal(keyBytes('hello'), 'hello');
  assert.equal(shQuote("it's a b"), "'it'\\''s a b'");
  assert.throws(() => shQuote('a\u0000b'), RangeError);
});
