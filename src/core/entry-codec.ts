// The compact LevelDB value of an inventory entry: tab-separated fields, escaped only when they need it.
import type { ObjectEntry } from './entry.ts';

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

/**
 * An entry read back from the store that decodes its value only as far as it is asked: the merge-join
 * needs size and ETag of most keys, the other fields only for keys that go into the reports.
 */
export class StoredEntry implements ObjectEntry {
  private sizeValue = -1;
  private etagValue: string | undefined;
  private full: ObjectEntry | undefined;

  constructor(
    readonly key: string,
    private readonly value: string,
  ) {}

  get size(): number {
    if (this.sizeValue < 0) {
      const tab = this.value.indexOf('\t');
      this.sizeValue = Number(tab === -1 ? this.value : this.value.slice(0, tab));
    }
    return this.sizeValue;
  }

  get etag(): string {
    if (this.etagValue === undefined) {
      const a = this.value.indexOf('\t');
      const b = this.value.indexOf('\t', a + 1);
      const raw = a === -1 ? '' : this.value.slice(a + 1, b === -1 ? undefined : b);
      this.etagValue = raw.indexOf('\\') === -1 ? raw : unesc(raw);
    }
    return this.etagValue;
  }

  private decoded(): ObjectEntry {
    return (this.full ??= decodeEntryValue(this.key, this.value));
  }

  get lastModified(): string {
    return this.decoded().lastModified;
  }

  get storageClass(): string | undefined {
    return this.decoded().storageClass;
  }

  get versionId(): string | undefined {
    return this.decoded().versionId;
  }

  get isDeleteMarker(): boolean | undefined {
    return this.decoded().isDeleteMarker;
  }

  get folder(): boolean | undefined {
    return this.decoded().folder;
  }
}
