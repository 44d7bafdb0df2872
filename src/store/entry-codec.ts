// The compact LevelDB value of an inventory entry: tab-separated fields, escaped only when they need it.
import type { ObjectEntry } from '../core/entry.ts';

const NEEDS_ESCAPE = /[\t\\]/;

function esc(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t') : s;
}

function unesc(s: string): string {
  return s.indexOf('\\') === -1 ? s : s.replace(/\\(\\|t)/g, (_m, c: string) => (c === 't' ? '\t' : '\\'));
}

/** size, etag, lastModified[, storageClass, flags, versionId]: trailing empty fields are left off. */
export function encodeEntryValue(e: ObjectEntry): string {
  const flags = (e.folder ? 'd' : '') + (e.isDeleteMarker ? 'x' : '');
  const head = `${e.size}\t${esc(e.etag)}\t${esc(e.lastModified)}`;
  if (!e.storageClass && !flags && !e.versionId) return head;
  return `${head}\t${esc(e.storageClass ?? '')}\t${flags}\t${esc(e.versionId ?? '')}`;
}

export function decodeEntryValue(key: string, value: string): ObjectEntry {
  const f = value.split('\t');
  const entry: ObjectEntry = { key, size: Number(f[0]), etag: unesc(f[1] ?? ''), lastModified: unesc(f[2] ?? '') };
  if (f.length > 3) {
    if (f[3]) entry.storageClass = unesc(f[3]);
    if (f[4]?.includes('d')) entry.folder = true;
    if (f[4]?.includes('x')) entry.isDeleteMarker = true;
    if (f[5]) entry.versionId = unesc(f[5]);
  }
  return entry;
}
