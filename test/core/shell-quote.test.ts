// Tests for shellQuote and shellComment: exact forms, and real bash giving back every hostile string byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shellComment, shellQuote } from '../../src/core/shell-quote.ts';

test('table: shellQuote forms', () => {
  const cases: { what: string; s: string; want: string }[] = [
    { what: 'empty', s: '', want: "''" },
    { what: 'plain', s: 'photos/2024/a.jpg', want: "'photos/2024/a.jpg'" },
    { what: 'single quote', s: "it's", want: "'it'\\''s'" },
    { what: 'only a quote', s: "'", want: "''\\'''" },
    { what: 'expansions stay literal', s: '$(x) `y` ${z} $HOME', want: "'$(x) `y` ${z} $HOME'" },
    { what: 'backslash without controls', s: 'a\\b', want: "'a\\b'" },
    { what: 'double quote', s: 'say "hi"', want: `'say "hi"'` },
    { what: 'leading dash', s: '-rf', want: "'-rf'" },
    { what: 'non-ASCII literal', s: 'café 😀 日本', want: "'café 😀 日本'" },
    { what: 'U+2028 and C1 are not C0', s: 'a\u2028b\u0085c', want: "'a\u2028b\u0085c'" },
    { what: 'newline', s: 'a\nb', want: "$'a\\x0ab'" },
    { what: 'carriage return', s: 'a\rb', want: "$'a\\x0db'" },
    { what: 'tab', s: 'a\tb', want: "$'a\\x09b'" },
    { what: 'DEL', s: '\u007f', want: "$'\\x7f'" },
    { what: 'escape sequence', s: '\u0001\u001b[31m', want: "$'\\x01\\x1b[31m'" },
    { what: 'hex digit after an escape', s: '\u0001ff', want: "$'\\x01ff'" },
    { what: 'ANSI-C: quote and backslash', s: "a'\\\n", want: "$'a\\'\\\\\\x0a'" },
    { what: 'ANSI-C: non-ASCII literal', s: 'é\n😀', want: "$'é\\x0a😀'" },
  ];
  for (const c of cases) assert.equal(shellQuote(c.s), c.want, c.what);
});

test('shellQuote refuses NUL, which no bash word can hold', () => {
  assert.throws(() => shellQuote('a\u0000b'), RangeError);
});

test('table: shellComment', () => {
  const cases: { what: string; s: string; want: string }[] = [
    { what: 'plain text unchanged', s: "job 1: 'a b' $(x)", want: "job 1: 'a b' $(x)" },
    { what: 'backslash unchanged without controls', s: 'a\\x0a', want: 'a\\x0a' },
    { what: 'newline', s: 'a\nmc rm x', want: 'a\\x0amc rm x' },
    { what: 'CR and NUL', s: '\r\u0000', want: '\\x0d\\x00' },
    { what: 'backslash doubled with controls', s: 'a\\x0a\n', want: 'a\\\\x0a\\x0a' },
    { what: 'non-ASCII literal', s: 'é😀\n', want: 'é😀\\x0a' },
  ];
  for (const c of cases) assert.equal(shellComment(c.s), c.want, c.what);
});

/** A deterministic mix of everything bash or a terminal might treat specially. */
function hostileStrings(): string[] {
  const fixed = [
    '',
    ' ',
    "'",
    "''",
    '"',
    '\\',
    '\\\\',
    "\\'",
    '$(touch pwned)',
    '`touch pwned`',
    "'; touch pwned; '",
    '"; touch pwned; "',
    '${IFS}$HOME$0$$$@$*',
    '!!',
    '*?[a]{b,c}~',
    '-rf',
    '--help',
    '#not a comment',
    'a\nb',
    'a\rb',
    '\r\n',
    '\u0001\u001b[31mred\u001b[0m',
    '\u007f\u001f',
    '\t\v\f\b\u0007',
    'x'.repeat(1024),
    'é'.repeat(512),
    '😀🚀👨‍👩‍👧',
    'cafe\u0301',
    'caf\u00e9',
    'both \' and "',
    '\u2028\u2029\u0085\u200e\u202e',
    'trailing backslash\\',
    "$'\\x41'",
  ];
  const alphabet = [
    ...Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)),
    '\u007f', "'", '"', '\\', '$', '`', '(', ')', ';', '&', '|', '<', '>', '*', '?', '[', ']', '{', '}', '~', '!',
    '#', ' ', '-', '=', '%', 'x', 'a', 'f', '0', '7', 'é', '😀', '\u2028', '\u0301', '日',
  ];
  let seed = 0x2f6b1d;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const random = Array.from({ length: 300 }, () =>
    Array.from({ length: 1 + next(24) }, () => alphabet[next(alphabet.length)]).join(''),
  );
  return [...fixed, ...random];
}

test('property: bash evaluates every quoted word to exactly the original bytes, in any locale', () => {
  const strings = hostileStrings();
  const words = strings.map(shellQuote);
  for (const w of words) {
    assert.ok(!w.includes('\n') && !w.includes('\r'), `one physical line: ${JSON.stringify(w)}`);
  }
  const script = `printf "%s\\0" ${words.join(' ')}`;
  const want = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])));
  for (const locale of ['C', 'C.UTF-8']) {
    const got = execFileSync('bash', ['-c', script], { env: { ...process.env, LC_ALL: locale } });
    assert.ok(got.equals(want), `bytes differ under LC_ALL=${locale}`);
  }
});

test('property: a shellComment line never ends early', () => {
  const texts = [...hostileStrings(), 'x\u0000\nprintf pwned'];
  const lines = texts.map((t) => `# ${shellComment(t)}`);
  for (const l of lines) assert.ok(!/[\u0000-\u001f\u007f]/.test(l), `no control characters: ${JSON.stringify(l)}`);
  const out = execFileSync('bash', ['-c', `${lines.join('\n')}\nprintf done`], { encoding: 'utf8' });
  assert.equal(out, 'done');
});
