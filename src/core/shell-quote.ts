// Quoting for generated bash: words that evaluate to exactly a given string, and text safe inside a comment.

/** C0 controls and DEL: the characters that could end a line or drive a terminal. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_ALL = /[\u0000-\u001f\u007f]/g;

function hexEscape(ch: string): string {
  return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** The body of a bash `$'...'` word: `\` and `'` escaped, controls as `\xHH`, everything else literal. */
function ansiCBody(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(CONTROL_ALL, hexEscape);
}

/**
 * A bash word that evaluates to exactly `s`, always on one physical line: `'...'` (with `'` as `'\''`)
 * when `s` has no control characters, else ANSI-C `$'...'` with controls as `\xHH`. Non-ASCII stays
 * literal. Throws RangeError for U+0000, which no bash word or argument can carry.
 */
export function shellQuote(s: string): string {
  if (s.includes('\u0000')) throw new RangeError('a bash word cannot hold a NUL character (U+0000)');
  if (!CONTROL.test(s)) return `'${s.replace(/'/g, "'\\''")}'`;
  return `$'${ansiCBody(s)}'`;
}

/**
 * Text safe inside a `# ...` comment line: unchanged when it has no control characters, else `\` as
 * `\\` and each control (newline, CR, escape, NUL...) as `\xHH`, so the comment cannot end early.
 */
export function shellComment(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(CONTROL_ALL, hexEscape);
}
