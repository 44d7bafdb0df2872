// Terminal text by display width: wide (CJK, emoji) and zero-width (combining) characters, truncation and padding that never split a grapheme.
import { cellSafe, cellWidth } from './cell-width.ts';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Characters that steer or reorder the terminal's output: C0, DEL, C1, the Unicode line and paragraph
 * separators, bidirectional embeddings, overrides and isolates (which reorder the rest of a line), and lone
 * surrogates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** What JSON.stringify leaves as it is but a terminal would still act on: DEL, C1, separators, bidi controls. */
const LEFT_BY_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Columns `s` takes on a terminal: CJK and emoji 2, combining marks and control characters 0, counted
 * code point by code point as terminals, tmux and our patched blessed do (cell-width.ts); text from
 * `sanitize` holds none of the sequences they disagree about.
 */
export function displayWidth(s: string): number {
  return cellWidth(s);
}

/** The graphemes of `s` with their display widths. */
function graphemes(s: string): { g: string; w: number }[] {
  const out: { g: string; w: number }[] = [];
  for (const { segment } of segmenter.segment(s)) out.push({ g: segment, w: displayWidth(segment) });
  return out;
}

/**
 * `s` made safe to print: when it holds any character that steers the terminal (see UNSAFE), the whole of
 * it as a JSON string (as `printableKey` in cli/format.ts does), with DEL, C1, U+2028/9 and bidi controls
 * escaped too (JSON.stringify leaves them raw); otherwise as is.
 */
export function sanitize(s: string): string {
  if (!UNSAFE.test(s)) return cellSafe(s);
  return cellSafe(JSON.stringify(s).replace(LEFT_BY_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** `s` cut to at most `width` columns, ending with `ellipsis` when cut; never splits a grapheme or a wide character. */
export function truncate(s: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (displayWidth(s) <= width) return s;
  const ew = displayWidth(ellipsis);
  if (ew > width) return take(graphemes(s), width);
  return take(graphemes(s), width - ew) + ellipsis;
}

/** The longest prefix of graphemes that fits in `width` columns. */
function take(gs: { g: string; w: number }[], width: number): string {
  let out = '';
  let used = 0;
  for (const { g, w } of gs) {
    if (used + w > width) break;
    out += g;
    used += w;
  }
  return out;
}

/** `s` cut in the middle to at most `width` columns, keeping its start and its end ('photos/2024/…/IMG_0001.jpg'). */
export function truncateMiddle(s: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (displayWidth(s) <= width) return s;
  const ew = displayWidth(ellipsis);
  if (width <= ew + 1) return truncate(s, width, ellipsis);
  const gs = graphemes(s);
  const budget = width - ew;
  // The end (a file name) gets the larger half; what a wide character leaves unused goes to the start.
  const tailBudget = Math.ceil(budget / 2);
  let tail = '';
  let tailUsed = 0;
  let i = gs.length - 1;
  for (; i >= 0; i--) {
    const { g, w } = gs[i]!;
    if (tailUsed + w > tailBudget) break;
    tail = g + tail;
    tailUsed += w;
  }
  const head = take(gs.slice(0, i + 1), budget - tailUsed);
  return head + ellipsis + tail;
}

/** `s` truncated to `width` columns and padded with spaces to exactly `width` columns. */
export function pad(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const t = truncate(s, width);
  const fill = ' '.repeat(width - displayWidth(t));
  return align === 'left' ? t + fill : fill + t;
}

/**
 * One table line: each cell padded to its column's width, joined by one space. A column of width 0 is
 * left out with its separator (a column dropped from a narrow screen); missing cells are blank.
 */
export function columns(cells: readonly string[], widths: readonly number[], aligns?: readonly ('left' | 'right' | undefined)[]): string {
  const out: string[] = [];
  widths.forEach((w, i) => {
    if (w > 0) out.push(pad(cells[i] ?? '', w, aligns?.[i] ?? 'left'));
  });
  return out.join(' ');
}

/** `s` for a blessed element with tags on: `{` and `}` as blessed's own escape writes them. */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}
