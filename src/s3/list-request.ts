// ListObjectsV2 without the SDK's response pipeline: one signed GET (SigV4 exactly as the SDK signs it,
// through the connection's keep-alive agents) and a hand-written XML scanner for the answer. On a large
// live listing the SDK's generic XML deserialisation (tokeniser, entity regex, schema walk, date
// parsing) cost more CPU than everything else; this reads the few fields a listing needs with indexOf.
// Errors come out shaped like the SDK's service exceptions (name = S3 error code, $metadata, $response)
// so that ./retry.ts and ./errors.ts treat them alike; network errors are Node's own. No retries here.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Connection } from './client.ts';

export interface ListPageInput {
  bucket: string;
  prefix?: string;
  startAfter?: string;
  continuationToken?: string;
  delimiter?: string;
  maxKeys: number;
  encodingType?: 'url';
}

export interface ListPageObject {
  key: string;
  size: number;
  /** As sent, quotes included. */
  etag: string;
  lastModified: Date | undefined;
  storageClass?: string;
}

export interface ListPageOutput {
  contents: ListPageObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextContinuationToken?: string;
  encodingType?: string;
}

export interface ListRequestOptions {
  signal?: AbortSignal;
  /** Socket idle time before the request fails with a TimeoutError (the SDK client's default, 120 s). */
  timeoutMs?: number;
  /** Time to establish the connection (the SDK client's, 10 s). */
  connectTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const USER_AGENT = 's3mig list-request';

// ---------------------------------------------------------------------------------------------------
// Request: address and signature

interface PerConnection {
  signer: SignatureV4;
  http: HttpAgent;
  https: HttpsAgent;
}

const perConnection = new WeakMap<S3Connection, PerConnection>();

function stateOf(conn: S3Connection): PerConnection {
  let st = perConnection.get(conn);
  if (!st) {
    const { accessKey, secretKey, sessionToken } = conn.credentials;
    st = {
      // As the SDK configures it for S3: service s3, the client's region, paths not escaped again
      // (signingEscapePath false), x-amz-content-sha256 set (applyChecksum), node:crypto SHA-256.
      signer: new SignatureV4({
        service: 's3',
        region: conn.endpoint.region,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey.reveal(), ...(sessionToken ? { sessionToken: sessionToken.reveal() } : {}) },
        sha256: Sha256,
        uriEscapePath: false,
        applyChecksum: true,
      }),
      // connect() hands over its agents (keep-alive, socket limit, TLS settings); a connection made
      // some other way gets keep-alive agents of its own, with Node's default TLS verification.
      http: conn.agents?.http ?? new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      https: conn.agents?.https ?? new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
    };
    perConnection.set(conn, st);
  }
  return st;
}

/** RFC 3986 escaping as the SDK's signer and serializer do it (encodeURIComponent plus !'()*). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)){3}$/;
const HOST_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

function virtualHostableLabel(label: string): boolean {
  return HOST_LABEL.test(label) && label.length >= 3 && label.length <= 63 && label === label.toLowerCase() && !IPV4.test(label);
}

/**
 * Whether the SDK's endpoint rules put the bucket in the host name of a custom endpoint: not for path
 * style, an IP address endpoint, or a bucket that is no lower-case DNS label (dotted names included).
 */
function virtualHosted(conn: S3Connection, url: URL, bucket: string): boolean {
  if (conn.endpoint.pathStyle) return false;
  if (IPV4.test(url.hostname) || url.hostname.startsWith('[')) return false;
  return virtualHostableLabel(bucket);
}

/** The query parameters, unescaped, by name; the SDK sends and signs them sorted by name. */
function queryOf(input: ListPageInput): Record<string, string> {
  const q: Record<string, string> = {};
  if (input.continuationToken !== undefined) q['continuation-token'] = input.continuationToken;
  if (input.delimiter !== undefined) q.delimiter = input.delimiter;
  if (input.encodingType !== undefined) q['encoding-type'] = input.encodingType;
  q['list-type'] = '2';
  q['max-keys'] = String(input.maxKeys);
  if (input.prefix !== undefined) q.prefix = input.prefix;
  if (input.startAfter !== undefined) q['start-after'] = input.startAfter;
  return q;
}

export interface SignedListRequest {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
  /** Path and query exactly as sent. */
  path: string;
  headers: Record<string, string>;
}

/**
 * Builds and signs the GET for one page, as the SDK would for the same input and time. `extraHeaders`
 * are signed too (tests pass the SDK's own user-agent and invocation headers to compare signatures).
 */
export async function signListRequest(
  conn: S3Connection,
  input: ListPageInput,
  options: { signingDate?: Date; extraHeaders?: Record<string, string> } = {},
): Promise<SignedListRequest> {
  const url = new URL(conn.endpoint.url);
  const protocol = url.protocol === 'https:' ? 'https:' : 'http:';
  const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  const virtual = virtualHosted(conn, url, input.bucket);
  const hostname = virtual ? `${input.bucket}.${url.hostname}` : url.hostname;
  // The Host header as the SDK sets it: host name, and the port unless it is the scheme's default.
  const host = url.port ? `${hostname}:${url.port}` : hostname;
  const path = virtual ? base : `${base}${escapeUri(input.bucket)}/`;
  const query = queryOf(input);
  const request = {
    method: 'GET',
    protocol,
    hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path,
    query,
    headers: { ...options.extraHeaders, host } as Record<string, string>,
  };
  const signed = await stateOf(conn).signer.sign(request, { signingDate: options.signingDate ?? skewCorrectedNow(conn) });
  let qs = '';
  for (const name of Object.keys(query)) qs += `${qs ? '&' : ''}${name}=${escapeUri(query[name]!)}`;
  return { protocol, hostname: request.hostname, port: request.port, path: `${path}?${qs}`, headers: signed.headers };
}

// The SDK keeps the server's clock offset on its config (learnt from Date headers); signing with the
// same offset keeps both paths in step, and an answer here teaches the SDK as its own would.
interface ClockConfig {
  systemClockOffset?: number;
}

function skewCorrectedNow(conn: S3Connection): Date {
  const offset = (conn.client.config as ClockConfig).systemClockOffset ?? 0;
  return new Date(Date.now() + offset);
}

function learnClock(conn: S3Connection, dateHeader: string | undefined): void {
  if (!dateHeader) return;
  const server = Date.parse(dateHeader);
  if (!Number.isFinite(server)) return;
  const config = conn.client.config as ClockConfig;
  if (Math.abs(Date.now() + (config.systemClockOffset ?? 0) - server) >= 300_000) config.systemClockOffset = server - Date.now();
}

// ---------------------------------------------------------------------------------------------------
// Exchange

interface RawResponse {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  body: string;
}

function timeoutError(message: string): Error {
  const err = new Error(message);
  err.name = 'TimeoutError';
  return err;
}

function send(conn: S3Connection, req: SignedListRequest, options: ListRequestOptions): Promise<RawResponse> {
  const { signal } = options;
  return new Promise<RawResponse>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const st = stateOf(conn);
    const https = req.protocol === 'https:';
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (err: unknown, value?: RawResponse) => {
      if (settled) return;
      settled = true;
      if (connectTimer) clearTimeout(connectTimer);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const onAbort = () => {
      finish(signal!.reason);
      cr.destroy();
    };
    const cr: ClientRequest = (https ? httpsRequest : httpRequest)({
      method: 'GET',
      host: req.hostname.replace(/^\[|\]$/g, ''),
      ...(req.port !== undefined ? { port: req.port } : {}),
      path: req.path,
      headers: { ...req.headers, 'user-agent': USER_AGENT },
      // Over TLS the server name comes from the Host header: the bucket's own name when virtual-hosted.
      agent: https ? st.https : st.http,
    });
    cr.setTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => cr.destroy(timeoutError(`no answer from ${req.hostname} within ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`)));
    cr.on('socket', (socket) => {
      if (!socket.connecting) return;
      const ms = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
      connectTimer = setTimeout(() => cr.destroy(timeoutError(`cannot connect to ${req.hostname} within ${ms} ms`)), ms);
      socket.once('connect', () => clearTimeout(connectTimer));
    });
    cr.on('error', (err) => finish(err));
    cr.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        finish(undefined, { status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('close', () => {
        if (!res.complete) finish(Object.assign(new Error('the answer was cut short (socket hang up)'), { code: 'ECONNRESET' }));
      });
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    cr.end();
  });
}

/** One ListObjectsV2 page, signed and sent without the SDK, parsed by a scanner of its own. */
export async function listObjectsV2Fast(conn: S3Connection, input: ListPageInput, options: ListRequestOptions = {}): Promise<ListPageOutput> {
  if (options.signal?.aborted) throw options.signal.reason;
  const req = await signListRequest(conn, input);
  const res = await send(conn, req, options);
  learnClock(conn, headerText(res.headers.date));
  if (res.status < 200 || res.status >= 300) throw serviceError(res, res.status);
  let out: ListPageOutput | null;
  try {
    out = parseListObjectsV2(res.body);
  } catch (err) {
    throw Object.assign(new Error(`ListObjectsV2: unreadable answer from ${req.hostname} (${(err as Error).message})`), {
      $metadata: metadataOf(res, res.status),
      $response: responseOf(res),
    });
  }
  // S3 can answer 200 with an error document; the SDK turns that into a 503-like server error.
  if (out === null) throw serviceError(res, 503);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Errors

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function flatHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(h)) {
    const v = headerText(h[name]);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function metadataOf(res: RawResponse, status: number) {
  return {
    httpStatusCode: status,
    requestId: headerText(res.headers['x-amz-request-id']) ?? headerText(res.headers['x-amzn-requestid']),
    extendedRequestId: headerText(res.headers['x-amz-id-2']),
    cfId: headerText(res.headers['x-amz-cf-id']),
    attempts: 1,
    totalRetryDelay: 0,
  };
}

function responseOf(res: RawResponse) {
  return { statusCode: res.status, reason: res.reason, headers: flatHeaders(res.headers), body: undefined };
}

// Fields of an error document never copied onto the error: they can echo the access key and what was signed.
const WITHHELD = new Set(['AWSAccessKeyId', 'StringToSign', 'StringToSignBytes', 'CanonicalRequest', 'CanonicalRequestBytes', 'SignatureProvided']);
const RESERVED = new Set(['name', 'message', 'Message', 'stack', 'cause', '$fault', '$metadata', '$response', '$retryable']);

/** The SDK's service exception for an error answer: name = <Code> (NotFound/Unknown without one), message = <Message>. */
function serviceError(res: RawResponse, status: number): S3ServiceException {
  const fields = parseErrorDocument(res.body);
  const code = fields?.Code;
  const err = new S3ServiceException({
    name: code || (status === 404 ? 'NotFound' : 'Unknown'),
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: metadataOf(res, status),
    message: fields?.Message || 'UnknownError',
  });
  err.$response = responseOf(res);
  if (fields) {
    const extra = err as unknown as Record<string, string>;
    for (const [k, v] of Object.entries(fields)) if (!WITHHELD.has(k) && !RESERVED.has(k)) extra[k] = v;
  }
  return err;
}

/** The leaf fields of an S3 error document (<Error> or <ErrorResponse><Error>), or null when the body is none. */
function parseErrorDocument(body: string): Record<string, string> | null {
  if (body.indexOf('<') === -1) return null;
  try {
    const sc = new XmlScanner(normalizeNewlines(body));
    let root = sc.nextChild();
    if (root === 'ErrorResponse') {
      for (root = sc.nextChild(); root !== null && root !== 'Error'; root = sc.nextChild()) sc.skip();
    }
    if (root !== 'Error') return null;
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let name = sc.nextChild(); name !== null; name = sc.nextChild()) {
      if (sc.hasChildren()) sc.skip();
      else fields[name] = sc.text();
    }
    return fields;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// XML

function normalizeNewlines(xml: string): string {
  // XML end-of-line handling: CR LF and lone CR are read as LF (a CR that matters comes as &#13;).
  return xml.indexOf('\r') === -1 ? xml : xml.replace(/\r\n?/g, '\n');
}

/**
 * The ListBucketResult of a ListObjectsV2 answer; null when the document is an <Error>. Throws on
 * anything else or on a document cut short.
 */
export function parseListObjectsV2(xml: string): ListPageOutput | null {
  const sc = new XmlScanner(normalizeNewlines(xml));
  const root = sc.nextChild();
  if (root === 'Error') return null;
  if (root !== 'ListBucketResult') throw new Error(root === null ? 'no root element' : `root element <${root}>, not <ListBucketResult>`);
  const out: ListPageOutput = { contents: [], commonPrefixes: [], isTruncated: false };
  for (let name = sc.nextChild(); name !== null; name = sc.nextChild()) {
    switch (name) {
      case 'Contents':
        out.contents.push(readObject(sc));
        break;
      case 'CommonPrefixes':
        for (let n = sc.nextChild(); n !== null; n = sc.nextChild()) {
          if (n === 'Prefix') out.commonPrefixes.push(sc.text());
          else sc.skip();
        }
        break;
      case 'IsTruncated':
        out.isTruncated = sc.text().trim() === 'true';
        break;
      case 'NextContinuationToken':
        out.nextContinuationToken = sc.text();
        break;
      case 'EncodingType':
        out.encodingType = sc.text();
        break;
      default:
        sc.skip();
    }
  }
  return out;
}

function readObject(sc: XmlScanner): ListPageObject {
  let key = '';
  let size = 0;
  let etag = '';
  let lastModified: Date | undefined;
  let storageClass: string | undefined;
  for (let name = sc.nextChild(); name !== null; name = sc.nextChild()) {
    switch (name) {
      case 'Key':
        key = sc.text();
        break;
      case 'Size':
        size = Number(sc.text());
        break;
      case 'ETag':
        etag = sc.text();
        break;
      case 'LastModified': {
        const t = sc.text();
        lastModified = t === '' ? undefined : parseTimestamp(t);
        break;
      }
      case 'StorageClass':
        storageClass = sc.text();
        break;
      default:
        sc.skip();
    }
  }
  const o: ListPageObject = { key, size, etag, lastModified };
  if (storageClass !== undefined) o.storageClass = storageClass;
  return o;
}

/**
 * A timestamp as S3 writes them (2024-01-05T10:00:00.000Z) read digit by digit; any other form of
 * ISO 8601 through Date.
 */
export function parseTimestamp(s: string): Date {
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (
    s.length !== 24 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 ||
    s.charCodeAt(23) !== 90
  ) {
    return new Date(s);
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ms < 0) return new Date(s);
  // Date.UTC would roll 31 February over into March; such a date is Date's to judge.
  const monthDays = month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : DAYS_IN_MONTH[month - 1]!;
  if (day > monthDays) return new Date(s);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal number in s[from, from + n), or -1 when a character is no digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const GT = 62; // >
const SLASH = 47;
const BANG = 33;
const QUESTION = 63;

/**
 * A forward-only scanner over one XML document, element by element: nextChild() enters the next child
 * of the current element (or leaves the element at its end tag), then text() or skip() consumes that
 * child. Text never holds '<' (the markup escapes it), so indexOf finds every tag.
 */
class XmlScanner {
  private readonly x: string;
  private pos = 0;
  private name = '';
  private empty = false;
  /** Elements open around the position; the document may end only at 0. */
  private depth = 0;

  constructor(xml: string) {
    this.x = xml;
  }

  private find(s: string, from: number): number {
    const i = this.x.indexOf(s, from);
    if (i === -1) throw new Error(`document cut short (no "${s}")`);
    return i;
  }

  /** Skips a comment, CDATA section, DOCTYPE or processing instruction starting at `lt`; returns the position after it. */
  private skipMarkup(lt: number): number {
    const x = this.x;
    if (x.charCodeAt(lt + 1) === QUESTION) return this.find('?>', lt + 2) + 2;
    if (x.startsWith('<!--', lt)) return this.find('-->', lt + 4) + 3;
    if (x.startsWith('<![CDATA[', lt)) return this.find(']]>', lt + 9) + 3;
    // <!DOCTYPE ...> with an optional [internal subset].
    let i = lt + 2;
    let depth = 0;
    for (;;) {
      const c = x.charCodeAt(i);
      if (Number.isNaN(c)) throw new Error('document cut short (DOCTYPE)');
      if (c === 91) depth++;
      else if (c === 93) depth--;
      else if (c === GT && depth <= 0) return i + 1;
      i++;
    }
  }

  /** The '>' ending the tag whose name ends at `from`; attribute values may hold '>'. */
  private tagEnd(from: number): number {
    const x = this.x;
    if (x.charCodeAt(from) === GT) return from;
    const gt = this.find('>', from);
    let q = -1;
    for (let i = from; i < gt; i++) {
      const c = x.charCodeAt(i);
      if (c === 34 || c === 39) {
        q = i;
        break;
      }
    }
    if (q === -1) return gt;
    for (let i = q; ; ) {
      const c = x.charCodeAt(i);
      if (c === 34 || c === 39) i = this.find(c === 34 ? '"' : "'", i + 1) + 1;
      else if (c === GT) return i;
      else if (Number.isNaN(c)) throw new Error('document cut short (tag)');
      else i++;
    }
  }

  /** Enters the next child element and returns its name; at the current element's end tag, consumes it and returns null. */
  nextChild(): string | null {
    const x = this.x;
    for (;;) {
      const lt = x.indexOf('<', this.pos);
      if (lt === -1) {
        if (this.depth === 0) return null; // the end of the document, no (further) root element
        throw new Error('document cut short');
      }
      const c = x.charCodeAt(lt + 1);
      if (c === SLASH) {
        if (this.depth === 0) throw new Error('end tag without element');
        this.depth--;
        this.pos = this.find('>', lt) + 1;
        return null;
      }
      if (c === BANG || c === QUESTION) {
        this.pos = this.skipMarkup(lt);
        continue;
      }
      let j = lt + 1;
      for (let d = x.charCodeAt(j); d !== GT && d !== SLASH && d !== 32 && d !== 9 && d !== 10 && d !== 13; d = x.charCodeAt(++j)) {
        if (Number.isNaN(d)) throw new Error('document cut short (tag)');
      }
      this.name = x.slice(lt + 1, j);
      const gt = this.tagEnd(j);
      this.empty = x.charCodeAt(gt - 1) === SLASH;
      if (!this.empty) this.depth++;
      this.pos = gt + 1;
      return this.name;
    }
  }

  /** Whether the element just entered has child elements (a container, not a leaf). */
  hasChildren(): boolean {
    if (this.empty) return false;
    const x = this.x;
    let i = this.pos;
    for (;;) {
      const lt = this.find('<', i);
      const c = x.charCodeAt(lt + 1);
      if (c === SLASH) return false;
      if (c === BANG || c === QUESTION) {
        if (x.startsWith('<![CDATA[', lt)) return false;
        i = this.skipMarkup(lt);
        continue;
      }
      return true;
    }
  }

  /** The text of the element just entered, entities decoded; consumes its end tag. */
  text(): string {
    if (this.empty) {
      this.empty = false;
      return '';
    }
    const x = this.x;
    const name = this.name;
    const start = this.pos;
    const lt = this.find('<', start);
    if (x.charCodeAt(lt + 1) === SLASH) {
      this.endTag(lt);
      const raw = x.slice(start, lt);
      return raw.indexOf('&') === -1 ? raw : decodeXmlEntities(raw);
    }
    // The slow way: CDATA sections, comments or stray child elements among the text.
    let out = decodeXmlEntities(x.slice(start, lt));
    let i = lt;
    for (;;) {
      const c = x.charCodeAt(i + 1);
      if (c === SLASH) {
        this.endTag(i);
        return out;
      }
      if (x.startsWith('<![CDATA[', i)) {
        const end = this.find(']]>', i + 9);
        out += x.slice(i + 9, end);
        i = end + 3;
      } else if (c === BANG || c === QUESTION) {
        i = this.skipMarkup(i);
      } else {
        this.pos = i;
        this.nextChild();
        this.skip();
        this.name = name;
        i = this.pos;
      }
      const next = this.find('<', i);
      out += decodeXmlEntities(x.slice(i, next));
      i = next;
    }
  }

  private endTag(lt: number): void {
    const x = this.x;
    const name = this.name;
    const c = x.charCodeAt(lt + 2 + name.length);
    if (!x.startsWith(name, lt + 2) || (c !== GT && c !== 32 && c !== 9 && c !== 10)) {
      throw new Error(`mismatched end tag for <${name}>`);
    }
    this.depth--;
    this.pos = c === GT ? lt + 3 + name.length : this.find('>', lt) + 1;
  }

  /** Consumes the element just entered, whatever it holds. */
  skip(): void {
    if (this.empty) {
      this.empty = false;
      return;
    }
    const x = this.x;
    let depth = 1;
    let i = this.pos;
    for (;;) {
      const lt = this.find('<', i);
      const c = x.charCodeAt(lt + 1);
      if (c === SLASH) {
        i = this.find('>', lt) + 1;
        if (--depth === 0) break;
      } else if (c === BANG || c === QUESTION) {
        i = this.skipMarkup(lt);
      } else {
        const gt = this.tagEnd(lt + 1);
        if (x.charCodeAt(gt - 1) !== SLASH) depth++;
        i = gt + 1;
      }
    }
    this.depth--;
    this.pos = i;
  }
}

/** Decodes the five predefined entities and character references (decimal and hex, astral planes included). */
export function decodeXmlEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let last = 0;
  while (amp !== -1) {
    const semi = s.indexOf(';', amp + 1);
    if (semi === -1) break;
    let rep: string | undefined;
    if (semi - amp <= 12) {
      if (s.charCodeAt(amp + 1) === 35) rep = charRef(s, amp + 2, semi);
      else {
        switch (s.slice(amp + 1, semi)) {
          case 'amp':
            rep = '&';
            break;
          case 'lt':
            rep = '<';
            break;
          case 'gt':
            rep = '>';
            break;
          case 'quot':
            rep = '"';
            break;
          case 'apos':
            rep = "'";
            break;
        }
      }
    }
    if (rep === undefined) {
      amp = s.indexOf('&', amp + 1);
      continue;
    }
    out += s.slice(last, amp) + rep;
    last = semi + 1;
    amp = s.indexOf('&', last);
  }
  return out + s.slice(last);
}

/** The character of `&#NNN;` / `&#xHHHH;` with digits in s[from, end), or undefined when malformed. */
function charRef(s: string, from: number, end: number): string | undefined {
  const hex = s.charCodeAt(from) === 120; // x
  let i = hex ? from + 1 : from;
  if (i >= end) return undefined;
  let cp = 0;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (hex && c >= 97 && c <= 102) d = c - 87;
    else if (hex && c >= 65 && c <= 70) d = c - 55;
    else return undefined;
    cp = cp * (hex ? 16 : 10) + d;
    if (cp > 0x10ffff) return undefined;
  }
  return String.fromCodePoint(cp);
}
