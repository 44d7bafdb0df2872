// The verdict rules of design §5: one category per key, multipart- and encryption-aware.
import type { ObjectEntry } from './entry.ts';

export const CATEGORIES = ['matched', 'missing', 'extra', 'sizeMismatch', 'etagMismatch', 'unverified'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Categories in an operator's words. */
export const CATEGORY_LABEL: Record<Category, string> = {
  matched: 'matched',
  missing: 'missing',
  extra: 'extra',
  sizeMismatch: 'size mismatch',
  etagMismatch: 'etag mismatch',
  unverified: 'unverified',
};

/** Categories that make a run "with differences" (exit 1). `unverified` is reported but is not one. */
export const FAILING_CATEGORIES: readonly Category[] = ['missing', 'extra', 'sizeMismatch', 'etagMismatch'];

const MULTIPART_SUFFIX = /-\d+$/;

/** A plain MD5 ETag: not empty and without the `-N` suffix of a multipart upload. */
export function isPlainEtag(etag: string): boolean {
  return etag !== '' && !MULTIPART_SUFFIX.test(etag);
}

function sameEtag(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** The category of a key given what each side holds (null: absent on that side). */
export function classify(source: ObjectEntry | null, dest: ObjectEntry | null): Category {
  if (!source) {
    if (!dest) throw new TypeError('classify needs at least one side');
    return 'extra';
  }
  if (!dest) return 'missing';
  if (source.size !== dest.size) return 'sizeMismatch';
  if (source.size === 0) return 'matched';
  if (source.etag !== '' && dest.etag !== '' && sameEtag(source.etag, dest.etag)) return 'matched';
  if (isPlainEtag(source.etag) && isPlainEtag(dest.etag)) return 'etagMismatch';
  return 'unverified';
}

/** Why a key got its category, in plain words for reports and the detail view. */
export function explain(category: Category, source: ObjectEntry | null, dest: ObjectEntry | null): string {
  switch (category) {
    case 'missing':
      return 'only in the source';
    case 'extra':
      return 'only in the destination';
    case 'sizeMismatch':
      return `sizes differ: ${source?.size} bytes in the source, ${dest?.size} in the destination`;
    case 'etagMismatch':
      return 'same size, both ETags are plain MD5s and they differ';
    case 'unverified': {
      const which = [source, dest].some((e) => e && e.etag === '') ? 'an ETag is empty' : 'an ETag is multipart (md5-N)';
      return `same size, but ${which}: content not proven equal`;
    }
    case 'matched':
      return source?.size === 0 ? 'both zero bytes' : 'same size and same ETag';
  }
}
