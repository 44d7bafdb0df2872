// A fault-injecting HTTP proxy on 127.0.0.1 and a free port, in front of an S3 endpoint (the local
// s3rver), for tests and benchmarks. Everything not matched by a rule is forwarded unchanged: method,
// path and query as sent, headers as sent (Host included, so SigV4 signatures made for the proxy's
// address stay valid), bodies streamed both ways. Rules answer S3 error responses or reset the
// connection, deterministically: by count of matching requests, never by timers.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket, AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export type FaultKind =
  | 'accessDenied'
  | 'slowDown'
  | 'internalError'
  | 'notImplemented'
  | 'reset'
  | 'noSuchBucket'
  | 'invalidAccessKey';

export interface FaultMatch {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Tested against the path as sent (still percent-encoded), without the query string. */
  path?: RegExp;
  /** Tested against the raw query string, without the leading '?' ('' when there is none). */
  query?: RegExp;
  /** Header name (case-insensitive) and a pattern for its value; a missing header does not match. */
  header?: [string, RegExp];
}

export interface FaultRule {
  match?: FaultMatch;
  /** What matching requests get; without it they are only delayed by latencyMs, then forwarded. */
  fault?: FaultKind;
  /** How many matching requests the rule takes (default Infinity); later ones go to the next rule or upstream. */
  times?: number;
  /** Delay before the fault is answered (or the request forwarded). */
  latencyMs?: number;
  /** Without a fault: headers added to the forwarded answer (e.g. x-amz-server-side-encryption on a HEAD). */
  responseHeaders?: Record<string, string>;
}

export interface FaultProxy {
  endpoint: string;
  port: number;
  /** Adds a rule after the existing ones (the first matching rule with uses left wins); returns its remover. */
  addRule(rule: FaultRule): () => void;
  clearRules(): void;
  /** Delay for every forwarded request before it goes upstream. */
  setLatency(ms: number): void;
  /** Requests seen so far (forwarded or faulted). */
  readonly requests: number;
  stop(): Promise<void>;
}

interface FaultResponse {
  status: number;
  code: string;
  message: string;
}

const FAULTS: Record<Exclude<FaultKind, 'reset'>, FaultResponse> = {
  accessDenied: { status: 403, code: 'AccessDenied', message: 'Access Denied' },
  slowDown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  internalError: { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
  notImplemented: { status: 501, code: 'NotImplemented', message: 'A header you provided implies functionality that is not implemented.' },
  noSuchBucket: { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
  invalidAccessKey: { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' },
};

// Hop-by-hop headers: they describe one connection and are never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']);

function forwardableRawHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

function matches(m: FaultMatch | undefined, req: IncomingMessage): boolean {
  if (!m) return true;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  if (m.method !== undefined && m.method.toUpperCase() !== (req.method ?? '').toUpperCase()) return false;
  if (m.path !== undefined && !testRe(m.path, path)) return false;
  if (m.query !== undefined && !testRe(m.query, query)) return false;
  if (m.header !== undefined) {
    const v = req.headers[m.header[0].toLowerCase()];
    if (v === undefined) return false;
    if (!testRe(m.header[1], Array.isArray(v) ? v.join(', ') : v)) return false;
  }
  return true;
}

/** RegExp.test without the lastIndex state of /g and /y patterns. */
function testRe(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  const r = re.test(s);
  re.lastIndex = 0;
  return r;
}

export async function startFaultProxy(options: { upstream: string }): Promise<FaultProxy> {
  const upstream = new URL(options.upstream);
  if (upstream.protocol !== 'http:') throw new Error(`fault proxy: upstream must be http:, not ${upstream.protocol}`);
  const upstreamHost = upstream.hostname.replace(/^\[|\]$/g, '');
  const upstreamPort = Number(upstream.port || 80);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });

  interface LiveRule {
    rule: FaultRule;
    left: number;
  }
  let rules: LiveRule[] = [];
  let latency = 0;
  let requests = 0;
  let stopped = false;
  const sockets = new Set<Socket>();
  // Pending delays, so that stop() can end them at once.
  const timers = new Map<NodeJS.Timeout, () => void>();

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || stopped) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.set(t, resolve);
    });

  function answerFault(req: IncomingMessage, res: ServerResponse, kind: FaultKind): void {
    if (kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const f = FAULTS[kind];
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const resource = (req.url ?? '/').split('?')[0]!;
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${f.code}</Code><Message>${xmlEscape(f.message)}</Message>` +
      `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId>` +
      `<HostId>${randomBytes(24).toString('base64')}</HostId></Error>`;
    // The request body is not wanted; read it away so the connection can carry the next request.
    req.resume();
    res.writeHead(f.status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
      'x-amz-id-2': randomBytes(24).toString('base64'),
      ...(kind === 'slowDown' ? { 'retry-after': '1' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function forward(req: IncomingMessage, res: ServerResponse, extra: Record<string, string> = {}): void {
    const up = httpRequest({
      host: upstreamHost,
      port: upstreamPort,
      method: req.method,
      path: req.url,
      headers: forwardableRawHeaders(req.rawHeaders) as unknown as Record<string, string>,
      agent,
      setHost: false,
    });
    up.on('response', (upRes) => {
      const headers = [...forwardableRawHeaders(upRes.rawHeaders), ...Object.entries(extra).flat()];
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers as unknown as Record<string, string>);
      upRes.pipe(res);
      // An upstream answer cut short is cut short for the client too, never passed off as complete.
      upRes.on('error', () => res.destroy());
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
    });
    up.on('error', () => {
      if (!res.headersSent && !res.destroyed) {
        const body = 'fault proxy: upstream unavailable';
        res.writeHead(502, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.destroy();
      }
    });
    // The client going away mid-request abandons the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    // Rules are taken synchronously on arrival: the n-th matching request is the n-th to arrive.
    const live = rules.find((r) => r.left > 0 && matches(r.rule.match, req));
    if (live) live.left--;
    const rule = live?.rule;
    if (rule?.latencyMs) await wait(rule.latencyMs);
    if (stopped || req.socket.destroyed) return;
    if (rule?.fault) {
      answerFault(req, res, rule.fault);
      return;
    }
    if (latency > 0) await wait(latency);
    if (stopped || req.socket.destroyed) return;
    forward(req, res, rule?.responseHeaders);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    addRule(rule) {
      const live: LiveRule = { rule, left: rule.times ?? Infinity };
      rules.push(live);
      return () => {
        rules = rules.filter((r) => r !== live);
      };
    },
    clearRules() {
      rules = [];
    },
    setLatency(ms) {
      latency = Math.max(0, ms);
    },
    get requests() {
      return requests;
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        stopped = true;
        for (const [t, wake] of timers) {
          clearTimeout(t);
          wake();
        }
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        agent.destroy();
      });
      return stopping;
    },
  };
}
