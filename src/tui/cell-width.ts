// How many terminal cells a character takes, one code point at a time, as terminals (and tmux, through
// the C library's wcwidth) count them: East Asian wide and fullwidth characters and emoji shown as emoji
// take 2, combining marks and format characters 0, everything else 1.
//
// Sequences that terminals disagree about (emoji joined with U+200D, variation selectors, skin-tone
// modifiers, flag pairs) are made unambiguous for display by `cellSafe`, so that a row's width is the
// same in our measure, in blessed's layout and on the operator's screen.

const WIDE = /[\p{Emoji_Presentation}\u1100-\u115f\u2329\u232a\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{1b000}-\u{1b2ff}\u{20000}-\u{2fffd}\u{30000}-\u{3fffd}]/u;
const ZERO = /[\p{Mn}\p{Me}\p{Cf}]/u;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Cells of one code point (given as a string of one code point). */
export function cellsOf(ch: string): 0 | 1 | 2 {
  if (CONTROL.test(ch) || ZERO.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** Cells of a string, code point by code point. */
export function cellWidth(s: string): number {
  let n = 0;
  for (const ch of s) n += cellsOf(ch);
  return n;
}

const JOINERS = /[\u200d\ufe0e\ufe0f\u{1f3fb}-\u{1f3ff}]/gu;
const REGIONAL = /[\u{1f1e6}-\u{1f1ff}]/gu;

/**
 * The text as shown: joiners, variation selectors and skin-tone modifiers dropped (each emoji of a joined
 * sequence is then shown on its own), regional-indicator letters as plain capitals.
 */
export function cellSafe(s: string): string {
  return s.replace(JOINERS, '').replace(REGIONAL, (c) => String.fromCharCode(c.codePointAt(0)! - 0x1f1e6 + 65));
}

interface BlessedUnicode {
  charWidth(str: string | number, i?: number): number;
  codePointAt(str: string, i: number): number;
  chars: { all: unknown };
}

let patched = false;

/**
 * Teaches blessed (which counts an emoji as one cell, so that rows holding one are drawn a cell short
 * and redraws land a cell to the left) the widths above: its layout pads each wide character with a
 * placeholder cell, and its renderer skips that cell.
 */
export function patchBlessedWidths(blessed: { unicode: unknown }): void {
  if (patched) return;
  patched = true;
  const u = blessed.unicode as BlessedUnicode;
  const original = u.charWidth.bind(u);
  u.charWidth = (str: string | number, i?: number) => {
    const point = typeof str === 'number' ? str : u.codePointAt(str, i ?? 0);
    if (point > 0xa0 && point !== undefined) {
      const w = cellsOf(String.fromCodePoint(point));
      if (w === 2) return 2;
    }
    return original(str, i);
  };
  // parseContent calls content.replace(chars.all, '$1\x03') (or '??' without full Unicode): every wide
  // character gets its placeholder.
  const wideGlobal = new RegExp(WIDE.source, 'gu');
  u.chars.all = {
    [Symbol.replace](text: string, replacement: string): string {
      return replacement === '$1\x03' ? text.replace(wideGlobal, (c) => `${c}\x03`) : text.replace(wideGlobal, replacement.replace('$1', ''));
    },
  };
}
