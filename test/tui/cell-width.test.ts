// Widths as terminals count them, and blessed taught the same: a row holding emoji keeps its border in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import blessed from 'blessed';
import { cellSafe, cellWidth, cellsOf, patchBlessedWidths } from '../../src/tui/cell-width.ts';

test('cellsOf: wide 2, combining and format characters 0, the rest 1', () => {
  const cases: [string, number][] = [
    ['a', 1],
    ['é', 1],
    ['\u0301', 0],
    ['\u200d', 0],
    ['写', 2],
    ['한', 2],
    ['😀', 2],
    ['⌚', 2],
    ['⚠', 1],
    ['─', 1],
    ['\u0007', 0],
  ];
  for (const [ch, w] of cases) assert.equal(cellsOf(ch), w, JSON.stringify(ch));
  assert.equal(cellWidth('写真/😀 ok'), 4 + 1 + 2 + 3);
});

test('cellSafe: joined emoji, variation selectors, skin tones and flags made unambiguous', () => {
  assert.equal(cellSafe('👨\u200d👩\u200d👧'), '👨👩👧');
  assert.equal(cellSafe('❤\ufe0f'), '❤');
  assert.equal(cellSafe('👍\u{1f3fd}'), '👍');
  assert.equal(cellSafe('🇯🇵/x'), 'JP/x');
  assert.equal(cellSafe('plain 写真'), 'plain 写真');
});

test('blessed, patched, gives an emoji two cells: what follows it stays in its column', () => {
  patchBlessedWidths(blessed as unknown as { unicode: unknown });
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
  const output = Object.assign(new PassThrough(), { columns: 40, rows: 5, isTTY: true });
  output.resume();
  const screen = blessed.screen({ input, output, terminal: 'xterm-256color', fullUnicode: true, warnings: false } as blessed.Widgets.IScreenOptions);
  try {
    const lines = ['😀 n=12|', '写真 ok|', 'abcdefg|'];
    blessed.box({ parent: screen, top: 0, left: 0, width: 20, height: 3, content: lines.join('\n') });
    screen.render();
    const rows = (screen as unknown as { lines: [unknown, string][][] }).lines;
    for (let y = 0; y < lines.length; y++) {
      // Each line is 8 cells wide on a terminal; blessed's '|' must be in the eighth cell.
      assert.equal(cellWidth(lines[y]!), 8);
      assert.equal(rows[y]![7]![1], '|', `row ${y}: ${rows[y]!.slice(0, 9).map((c) => c[1]).join('')}`);
    }
  } finally {
    screen.destroy();
  }
});
