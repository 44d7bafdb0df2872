// Object entries as both engines and inventory files describe them, relative to a target's prefix.

export interface ObjectEntry {
  key: string;
  size: number;
  /** Without quotes; '' where the listing has none (local files, folder markers). */
  etag: string;
  /** RFC 3339 as the listing printed it; '' when unknown. */
  lastModified: string;
  storageClass?: string;
  versionId?: string;
  isDeleteMarker?: boolean;
  /** A folder marker: a key ending in '/' listed as type "folder". */
  folder?: boolean;
}

/** An ETag as listings and headers quote it ("abc"), without its one pair of quotes. */
export function unquoteEtag(etag: string | undefined): string {
  if (etag === undefined) return '';
  return etag.length >= 2 && etag.charCodeAt(0) === 34 && etag.charCodeAt(etag.length - 1) === 34 ? etag.slice(1, -1) : etag;
}

/** The fields that reports show for one side of a key. */
export interface EntrySnapshot {
  size: number;
  etag: string;
  lastModified: string;
  storageClass?: string;
}

export function snapshotOf(entry: ObjectEntry | null): EntrySnapshot | null {
  if (!entry) return null;
  const snap: EntrySnapshot = { size: entry.size, etag: entry.etag, lastModified: entry.lastModified };
  if (entry.storageClass) snap.storageClass = entry.storageClass;
  return snap;
}
