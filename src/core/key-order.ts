// Key order for the whole product: UTF-8 byte order, the order of S3 listings and of LevelDB.

/**
 * Compares two keys by their UTF-8 bytes without encoding them.
 *
 * UTF-8 byte order equals code-point order. UTF-16 code-unit order (JavaScript's `<`) agrees with it
 * except where a surrogate (U+D800–U+DFFF, half of a character above U+FFFF) meets a unit in
 * U+E000–U+FFFF: there `<` puts the astral character first, UTF-8 puts it last. Lifting surrogates
 * above U+FFFF at the first differing unit fixes exactly that case.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Sorts keys in place in UTF-8 byte order. */
export function sortKeys<T extends string>(keys: T[]): T[] {
  return keys.sort(compareKeys);
}
