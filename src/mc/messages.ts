// mc's `--json` messages as a discriminated union, and the pure parser that classifies one stdout line.
// Dispatch follows reference/mc-json.md §10: on the keys present, never on `status`. Unknown fields are
// tolerated; JSON objects of no known shape become `unknown`; anything that is not a JSON object is text.

/** A generic error object (§1): `type:"fatal"` means mc exits 1 right after it. */
export interface McErrorMessage {
  type: 'error';
  severity: 'error' | 'fatal';
  /** error.message, e.g. "Failed to copy `https://host/bucket/key`." (endpoint form). */
  message: string;
  /** error.cause.message when present (the useful part: "Access Denied."). */
  causeMessage?: string;
  /** error.cause.error: the raw Go error value, opaque. */
  cause?: unknown;
}

/** mirror/cp summary (§3, §4): always last for mirror unless fatal or killed; cp prints it only without errors. */
export interface McSummaryMessage {
  type: 'summary';
  total: number;
  transferred: number;
  /** nanoseconds; absent on releases before ~2025-02-08 */
  duration?: number;
  /** bytes per second */
  speed?: number;
}

/** mirror --retry line (§3): no status. */
export interface McRetryMessage {
  type: 'retry';
  sourceURL: string;
  targetURL: string;
  retries: number;
}

/**
 * A mirror line (§3). `kind`: `copy` (printed when the task starts, not when done), `removal` (source ""),
 * or `event` (--watch, eventType set). Bucket creations look like copies of size 0.
 */
export interface McMirrorMessage {
  type: 'mirror';
  kind: 'copy' | 'removal' | 'event';
  source: string;
  target: string;
  size: number;
  totalCount: number;
  totalSize: number;
  eventTime: string;
  eventType: string;
}

/** A cp line (§4), printed at task start. */
export interface McCopyMessage {
  type: 'copy';
  source: string;
  target: string;
  size: number;
  totalCount: number;
  totalSize: number;
}

/** mc diff codes (§5). */
export const MC_DIFF = {
  unknown: 0,
  none: 1,
  size: 2,
  metadata: 3,
  type: 4,
  onlyInFirst: 5,
  onlyInSecond: 6,
  sourceNewer: 7,
} as const;

/** A diff line (§5): `first`/`second` are endpoint URLs or local paths, `""` on the missing side. */
export interface McDiffMessage {
  type: 'diff';
  first: string;
  second: string;
  diff: number;
}

/** The `ls --summarize` line (§2): no status. */
export interface McLsSummaryMessage {
  type: 'lsSummary';
  totalObjects: number;
  totalSize: number;
}

/** A du line (§6). */
export interface McDuMessage {
  type: 'du';
  prefix: string;
  size: number;
  objects: number;
  isVersions: boolean;
}

/** An ls entry (§2). `key` is relative to the listed prefix; `lastModified` is kept as mc's string. */
export interface McLsMessage {
  type: 'ls';
  entryType: 'file' | 'folder';
  lastModified: string;
  size: number;
  key: string;
  etag: string;
  url: string;
  versionId?: string;
  versionOrdinal?: number;
  isDeleteMarker?: boolean;
  storageClass?: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}

/** A stat line (§7): `name` is a basename; note `versionID` (not `versionId` as in ls). */
export interface McStatMessage {
  type: 'stat';
  name: string;
  lastModified: string;
  size: number;
  etag: string;
  entryType?: string;
  metadata?: Record<string, string>;
  versionID?: string;
  checksum?: Record<string, string>;
  deleteMarker?: boolean;
  replicationStatus?: string;
}

/** An alias set/list line (§8). Secrets are dropped on purpose: mc prints them. */
export interface McAliasMessage {
  type: 'alias';
  alias: string;
  URL?: string;
  api?: string;
  path?: string;
  src?: string;
}

/** An rm line (§9): `key` is alias/bucket/object. */
export interface McRmMessage {
  type: 'rm';
  key: string;
  deleteMarker: boolean;
  versionID: string;
  modTime: string | null;
  dryRun: boolean;
}

/** A JSON object of no known shape (a newer mc, or `stat` on a bucket). */
export interface McUnknownMessage {
  type: 'unknown';
  value: unknown;
}

export type McMessage =
  | McErrorMessage
  | McSummaryMessage
  | McRetryMessage
  | McMirrorMessage
  | McCopyMessage
  | McDiffMessage
  | McLsSummaryMessage
  | McDuMessage
  | McLsMessage
  | McStatMessage
  | McAliasMessage
  | McRmMessage
  | McUnknownMessage;

/** A stdout line that is not a JSON object: help text, a TTY-formatted fragment, noise. */
export interface McTextLine {
  type: 'text';
  line: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const optNum = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strMap = (v: unknown): Record<string, string> | undefined => {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

/** Sets only the properties that are defined (keeps deepEqual-friendly objects). */
function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out as T;
}

/** Classifies one decoded JSON object (§10 order). */
export function classifyMcObject(o: Obj): McMessage {
  if ('error' in o) {
    const e = isObj(o.error) ? o.error : {};
    const cause = isObj(e.cause) ? e.cause : undefined;
    return withOptional<McErrorMessage>(
      {
        type: 'error',
        severity: e.type === 'fatal' ? 'fatal' : 'error',
        message: typeof o.error === 'string' ? o.error : str(e.message),
      },
      { causeMessage: optStr(cause?.message), cause: cause?.error },
    );
  }
  if ('total' in o && 'transferred' in o) {
    return withOptional<McSummaryMessage>(
      { type: 'summary', total: num(o.total), transferred: num(o.transferred) },
      { duration: optNum(o.duration), speed: optNum(o.speed) },
    );
  }
  if ('retries' in o) {
    return { type: 'retry', sourceURL: str(o.sourceURL), targetURL: str(o.targetURL), retries: num(o.retries) };
  }
  if ('eventType' in o) {
    const source = str(o.source);
    const eventType = str(o.eventType);
    return {
      type: 'mirror',
      kind: eventType !== '' ? 'event' : source === '' ? 'removal' : 'copy',
      source,
      target: str(o.target),
      size: num(o.size),
      totalCount: num(o.totalCount),
      totalSize: num(o.totalSize),
      eventTime: str(o.eventTime),
      eventType,
    };
  }
  if ('source' in o && 'target' in o) {
    return {
      type: 'copy',
      source: str(o.source),
      target: str(o.target),
      size: num(o.size),
      totalCount: num(o.totalCount),
      totalSize: num(o.totalSize),
    };
  }
  if ('diff' in o && typeof o.diff === 'number') {
    return { type: 'diff', first: str(o.first), second: str(o.second), diff: o.diff };
  }
  if ('totalObjects' in o) {
    return { type: 'lsSummary', totalObjects: num(o.totalObjects), totalSize: num(o.totalSize) };
  }
  if ('prefix' in o && 'objects' in o) {
    return { type: 'du', prefix: str(o.prefix), size: num(o.size), objects: num(o.objects), isVersions: o.isVersions === true };
  }
  if ('type' in o && 'key' in o && (o.type === 'file' || o.type === 'folder') && typeof o.key === 'string') {
    return withOptional<McLsMessage>(
      {
        type: 'ls',
        entryType: o.type,
        lastModified: str(o.lastModified),
        size: num(o.size),
        key: o.key,
        etag: str(o.etag),
        url: str(o.url),
      },
      {
        versionId: optStr(o.versionId),
        versionOrdinal: optNum(o.versionOrdinal),
        isDeleteMarker: o.isDeleteMarker === true ? true : undefined,
        storageClass: optStr(o.storageClass),
        metadata: strMap(o.metadata),
        tags: strMap(o.tags),
      },
    );
  }
  if ('name' in o && 'etag' in o) {
    return withOptional<McStatMessage>(
      { type: 'stat', name: str(o.name), lastModified: str(o.lastModified), size: num(o.size), etag: str(o.etag) },
      {
        entryType: optStr(o.type),
        metadata: strMap(o.metadata),
        versionID: optStr(o.versionID),
        checksum: strMap(o.checksum),
        deleteMarker: typeof o.deleteMarker === 'boolean' ? o.deleteMarker : undefined,
        replicationStatus: optStr(o.replicationStatus),
      },
    );
  }
  if ('alias' in o) {
    // accessKey/secretKey deliberately not carried over.
    return withOptional<McAliasMessage>(
      { type: 'alias', alias: str(o.alias) },
      { URL: optStr(o.URL), api: optStr(o.api), path: optStr(o.path), src: optStr(o.src) },
    );
  }
  if ('dryRun' in o) {
    return {
      type: 'rm',
      key: str(o.key),
      deleteMarker: o.deleteMarker === true,
      versionID: str(o.versionID),
      modTime: typeof o.modTime === 'string' ? o.modTime : null,
      dryRun: o.dryRun === true,
    };
  }
  return { type: 'unknown', value: o };
}

/** Parses one stdout line (without its newline; a trailing \r is tolerated). */
export function parseMcLine(line: string): McMessage | McTextLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return { type: 'text', line };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { type: 'text', line };
  }
  if (!isObj(value)) return { type: 'text', line };
  return classifyMcObject(value);
}
