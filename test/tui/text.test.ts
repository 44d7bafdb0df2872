// Display width, sanitizing, truncation and padding of terminal text (src/tui/text.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { columns, displayWidth, escapeTags, pad, sanitize, truncate, truncateMiddle } from '../../src/tui/text.ts';

const FAMILY = '👨‍👩‍👧‍👦';
const FLAG = '🇯🇵';
const COMBINING = 'e\u0301'; // é as e + combining acute
/** What the screen shows is sanitized: joined emoji and flags are made unambiguous first. */
const SAMPLES = [
  'photos/2024/IMG_0001.jpg',
  '写真/東京.jpg',
  `😀${FAMILY}${FLAG}/x.png`,
  `cafe${COMBINING}/re${COMBINING}sume${COMBINING}.txt`,
  `mix 写真 ${FAMILY} a${COMBINING} ${FLAG} end`,
  '',
].map(sanitize);

/** No grapheme of the result is a piece of a grapheme of the input. */
function graphemesOf(s: string): string[] {
  return [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s)].map((x) => x.segment);
}

test('displayWidth: ASCII 1, CJK and emoji 2, combining marks and control characters 0', () => {
  const cases: [string, number][] = [
    ['abc', 3],
    ['写真/東京.jpg', 13],
    ['😀', 2],
    // Code point by code point, as tmux and the C library's wcwidth count: each emoji of a joined
    // sequence 2, the joiners 0; sanitize() makes such sequences unambiguous before they are shown.
    [FAMILY, 8],
    [FLAG, 4],
    ['\u26a0', 1],
    ['\u231a', 2],
    [COMBINING, 1],
    ['\u0007a', 1],
    ['', 0],
  ];
  for (const [s, w] of cases) assert.equal(displayWidth(s), w, JSON.stringify(s));
});

test('sanitize: text with control characters becomes a JSON string; other text is unchanged', () => {
  const cases: [string, string][] = [
    ['plain/key.txt', 'plain/key.txt'],
    ['写真/東京.jpg', '写真/東京.jpg'],
    ['a\nb', '"a\\nb"'],
    ['\u001b[31mred', '"\\u001b[31mred"'],
    ['tab\there', '"tab\\there"'],
    ['del\u007f', '"del\\u007f"'],
    ['nel\u0085', '"nel\\u0085"'],
    ['c1\u009b2J', '"c1\\u009b2J"'],
    ['line\u2028sep', '"line\\u2028sep"'],
    ['para\u2029sep', '"para\\u2029sep"'],
    ['bidi\u202eexe.txt', '"bidi\\u202eexe.txt"'],
    ['isolate\u2066x\u2069', '"isolate\\u2066x\\u2069"'],
    ['lone\ud800', '"lone\\ud800"'],
    [`emoji ${FAMILY}`, 'emoji 👨👩👧👦'],
    [`flag ${FLAG}.txt`, 'flag JP.txt'],
    ['heart \u2764\ufe0f', 'heart \u2764'],
    ['thumb \u{1f44d}\u{1f3fd}', 'thumb \u{1f44d}'],
  ];
  for (const [input, want] of cases) assert.equal(sanitize(input), want, JSON.stringify(input));
  for (const [input, want] of cases) {
    assert.doesNotMatch(sanitize(input), /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/, JSON.stringify(input));
    // What was escaped reads back as the original.
    if (want !== input && want.startsWith('"')) assert.equal(JSON.parse(sanitize(input)), input);
  }
});

test('truncate: never wider than asked, never splits a grapheme, ends with the ellipsis when cut', () => {
  for (const s of SAMPLES) {
    for (let w = 0; w <= displayWidth(s) + 2; w++) {
      const t = truncate(s, w);
      assert.ok(displayWidth(t) <= w, `${JSON.stringify(s)} at ${w}: ${JSON.stringify(t)}`);
      if (displayWidth(s) <= w) {
        assert.equal(t, s);
        continue;
      }
      if (w >= 1) assert.ok(t.endsWith('…'), `${JSON.stringify(t)} ends with the ellipsis`);
      const body = t.endsWith('…') ? t.slice(0, -1) : t;
      const gs = graphemesOf(s);
      assert.deepEqual(graphemesOf(body), gs.slice(0, graphemesOf(body).length), `${JSON.stringify(t)} is whole graphemes of the input`);
      // It takes as much as fits: one more grapheme would not.
      const next = gs[graphemesOf(body).length]!;
      assert.ok(displayWidth(body + next) + 1 > w);
    }
  }
});

test('truncate: examples with wide characters and a custom ellipsis', () => {
  assert.equal(truncate('写真/東京.jpg', 6), '写真/…');
  assert.equal(truncate('写真/東京.jpg', 5), '写真…');
  assert.equal(truncate('写真', 3), '写…');
  assert.equal(truncate('写真', 2), '…', 'cut text always shows the ellipsis');
  assert.equal(truncate('😀😀', 3), '😀…');
  assert.equal(truncate('abcdef', 5, '...'), 'ab...');
  assert.equal(truncate('abcdef', 2, '...'), 'ab');
  assert.equal(truncate('abc', 0), '');
  assert.equal(truncate(`a${COMBINING}${COMBINING}b`, 3), `a${COMBINING}…`);
});

test('truncateMiddle keeps the start and the end', () => {
  assert.equal(truncateMiddle('photos/2024/holidays/IMG_0001.jpg', 26), 'photos/2024/…/IMG_0001.jpg');
  assert.equal(truncateMiddle('short', 10), 'short');
  assert.equal(truncateMiddle('写真/東京/大阪.jpg', 10), '写真/….jpg');
  assert.equal(truncateMiddle('写真/東京/大阪.jpg', 12), '写真/…阪.jpg');
  for (const s of SAMPLES) {
    for (let w = 0; w <= displayWidth(s) + 1; w++) {
      const t = truncateMiddle(s, w);
      assert.ok(displayWidth(t) <= w, `${JSON.stringify(s)} at ${w}: ${JSON.stringify(t)}`);
      assert.ok(displayWidth(t) >= w - 2 || displayWidth(s) < w, `${JSON.stringify(t)} uses the room`);
      if (displayWidth(s) > w && w >= 3) {
        const [head, tail] = t.split('…') as [string, string];
        assert.ok(s.startsWith(head) && s.endsWith(tail), `${JSON.stringify(t)} keeps both ends`);
        assert.ok(tail.length > 0);
      }
    }
  }
});

test('pad: always exactly the width, aligned left or right', () => {
  for (const s of SAMPLES) {
    for (let w = 0; w <= displayWidth(s) + 3; w++) {
      for (const align of ['left', 'right'] as const) {
        const p = pad(s, w, align);
        assert.equal(displayWidth(p), w, `${JSON.stringify(s)} ${align} at ${w}: ${JSON.stringify(p)}`);
      }
    }
  }
  assert.equal(pad('ab', 4), 'ab  ');
  assert.equal(pad('ab', 4, 'right'), '  ab');
  assert.equal(pad('写真x', 4), '写… ', 'a wide character that does not fit leaves a space, not half of it');
  assert.equal(pad('写真', 5, 'right'), ' 写真');
});

test('columns: padded cells joined by one space; zero-width columns left out', () => {
  assert.equal(columns(['a', '写真', '7'], [3, 5, 4], ['left', 'left', 'right']), 'a   写真     7');
  assert.equal(displayWidth(columns(['a', '写真', '7'], [3, 5, 4])), 3 + 1 + 5 + 1 + 4);
  assert.equal(columns(['a', 'dropped', 'c'], [2, 0, 2]), 'a  c ');
  assert.equal(columns(['only'], [4, 3]), 'only    ');
});

test('escapeTags: braces as blessed escapes them', () => {
  assert.equal(escapeTags('{bold}x{/bold}'), '{open}bold{close}x{open}/bold{close}');
  assert.equal(escapeTags('no tags'), 'no tags');
});
