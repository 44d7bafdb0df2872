import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys, sortKeys } from '../../src/core/key-order.ts';

const byBytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

test('an emoji sorts after U+FF5E in UTF-8 byte order, although JavaScript < says otherwise', () => {
  const emoji = '😀';
  const wave = '～';
  assert.equal(emoji < wave, true, 'the premise: UTF-16 order puts the emoji first');
  assert.ok(compareKeys(emoji, wave) > 0);
  assert.ok(compareKeys(wave, emoji) < 0);
  assert.deepEqual(sortKeys([emoji, wave]), [wave, emoji]);
});

test('table: compareKeys agrees with Buffer.compare', () => {
  const cases: [string, string][] = [
    ['a', 'a'],
    ['a', 'b'],
    ['a', 'a-b'],
    ['a/b', 'a-b'],
    ['a', 'a/'],
    ['', 'a'],
    ['é', 'e\u0301'],
    ['\uffff', '𐀀'],
    ['\ue000', '\ud7ff'],
    ['x😀y', 'x\uff5ey'],
    ['😀', '😁'],
    ['😀a', '😀'],
    ['A', 'a'],
    ['\u0000', '\u007f'],
  ];
  for (const [a, b] of cases) {
    assert.equal(Math.sign(compareKeys(a, b)), byBytes(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(Math.sign(compareKeys(b, a)), byBytes(b, a), `${JSON.stringify(b)} vs ${JSON.stringify(a)}`);
  }
});

test('random strings across every plane compare as their UTF-8 bytes', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  const pool = [0x41, 0x7a, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xff5e, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff];
  const str = () => {
    let s = '';
    const len = 1 + rnd(4);
    for (let i = 0; i < len; i++) s += String.fromCodePoint(pool[rnd(pool.length)]!);
    return s;
  };
  const keys = Array.from({ length: 2000 }, str);
  for (let i = 0; i + 1 < keys.length; i++) {
    assert.equal(Math.sign(compareKeys(keys[i]!, keys[i + 1]!)), byBytes(keys[i]!, keys[i + 1]!));
  }
  const sorted = sortKeys([...keys]);
  const expected = [...keys].sort(byBytes);
  assert.deepEqual(sorted, expected);
});
