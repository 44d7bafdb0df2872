// What the integration tests that run s3mig against a local S3 server share: seeding buckets, MC_HOST_ values, `node bin/s3mig.js` as a child in a test environment, and reading its --json events and its reports.
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { execa, type ResultPromise } from 'execa';
import { connect, type S3Connection } from '../src/s3/client.ts';
import { Secret } from '../src/core/secret.ts';
import { startLocalS3 } from '../src/testing/s3-server.ts';
import type { Summary } from '../src/core/summary.ts';
import type { EngineEvent } from '../src/engine/events.ts';

const BIN = fileURLToPath(new URL('../bin/s3mig.js', import.meta.url));
/** The fixture `mc` (test/fixtures/mc). */
export const FIXTURE_MC = fileURLToPath(new URL('./fixtures/mc', import.meta.url));
const FIXTURES = dirname(FIXTURE_MC);

// ---------------------------------------------------------------------------------------------
// Buckets and aliases
// ---------------------------------------------------------------------------------------------

/** Puts `objects` (key -> body) into `bucket`, `concurrency` PutObject requests at a time. */
export async function putObjects(conn: S3Connection, bucket: string, objects: Record<string, string>, concurrency: number): Promise<void> {
  const entries = Object.entries(objects);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < entries.length) {
        const [Key, Body] = entries[next++]!;
        await conn.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentLength: Buffer.byteLength(Body) }));
      }
    }),
  );
}

/** MC_HOST_<alias> value for an endpoint (http://127.0.0.1:PORT); s3rver checks the access key only. */
export const mcHost = (endpoint: string, secret = 'S3RVER', access = 'S3RVER') => endpoint.replace('http://', `http://${access}:${secret}@`);

// ---------------------------------------------------------------------------------------------
// Running s3mig
// ---------------------------------------------------------------------------------------------

/** Children of runs shared by several tests: the file kills them in `after`. */
export type SharedChildren = { kill(signal?: NodeJS.Signals): boolean }[];

export interface S3migOptions {
  /**
   * Unset: the child inherits this process's environment, PATH included. Set: it gets nothing but the test
   * environment and a PATH of node's folder, with the fixture mc first (true) or no mc at all (false).
   */
  mcOnPath?: boolean;
  /** Killed after this many milliseconds. */
  timeout?: number;
}

export interface S3migRun {
  code: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  pid: number;
}

/**
 * The environment of an s3mig child in `cwd`: a state directory there, short retry backoff, no failpoint, and
 * HOME / MC_CONFIG_DIR in `cwd` so that the real ~/.mc is never read; then `env` (MC_HOST_ aliases and overrides).
 */
function s3migEnv(cwd: string, env: Record<string, string>, mcOnPath: boolean | undefined): Record<string, string> {
  const path = (process.env.PATH ?? '').split(':').filter((d) => d !== FIXTURES);
  return {
    ...(mcOnPath === undefined ? {} : { PATH: [...(mcOnPath ? [FIXTURES] : []), dirname(process.execPath), ...path].join(':') }),
    S3MIG_STATE_DIR: join(cwd, 'state'),
    S3MIG_FAILPOINT: '',
    S3MIG_RETRY_BASE_MS: '1',
    HOME: cwd,
    MC_CONFIG_DIR: join(cwd, 'no-mc-config'),
    ...env,
  };
}

/**
 * `node bin/s3mig.js ARGS` in `cwd`, started now. Tied to a test (`owner` its context) it is canceled with the
 * test's signal and killed when the test ends; otherwise it goes on `owner`, the file's shared list.
 */
export function spawnS3mig(owner: TestContext | SharedChildren, cwd: string, args: string[], env: Record<string, string> = {}, options: S3migOptions = {}): ResultPromise {
  const shared = Array.isArray(owner) ? owner : undefined;
  const t = Array.isArray(owner) ? undefined : owner;
  const child = execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    timeout: options.timeout,
    extendEnv: options.mcOnPath === undefined,
    env: s3migEnv(cwd, env, options.mcOnPath),
    cancelSignal: t?.signal,
  });
  if (t) t.after(() => void child.kill('SIGKILL'));
  else shared!.push(child);
  return child;
}

/** How a spawned s3mig ended. */
export async function endOf(child: ResultPromise): Promise<S3migRun> {
  const r = await child;
  return { code: r.exitCode, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr), pid: child.pid! };
}

/** Like spawnS3mig (making `cwd` first), to its end. */
export async function runS3mig(owner: TestContext | SharedChildren, cwd: string, args: string[], env: Record<string, string> = {}, options: S3migOptions = {}): Promise<S3migRun> {
  await mkdir(cwd, { recursive: true });
  return endOf(spawnS3mig(owner, cwd, args, env, options));
}

// ---------------------------------------------------------------------------------------------
// Its output and reports
// ---------------------------------------------------------------------------------------------

export type Event = EngineEvent & Record<string, unknown>;
/** The events of a --json run, one a line. */
export const eventsOf = (stdout: string): Event[] => stdout.trimEnd().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Event);
/** The job id of a --json run (its first event). */
export const jobIdOf = (stdout: string) => JSON.parse(stdout.split('\n')[0]!).jobId as string;
/** The messages of the log events. */
export const logText = (events: Event[]) => events.filter((e) => e.type === 'log').map((e) => String(e.message));

export const readSummary = async (dir: string): Promise<Summary> => JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary;
/** The lines of an NDJSON file, parsed. */
export const readNdjson = async <T>(path: string): Promise<T[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
/** A line of differences.ndjson, fix-plan.ndjson or transfer-plan.ndjson, as far as the tests read it. */
export interface ReportRow {
  key: string;
  category: string;
  action?: string;
  engine?: string;
}
export const readRows = (path: string) => readNdjson<ReportRow>(path);

/** `make` run once, on the first call; every call gets its promise (a run shared by several tests). */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

/** Two local S3 servers with a `media` bucket each, the source seeded with `objects`; all stopped after the test. */
export async function twoLocalS3(t: TestContext, objects: Record<string, string>) {
  const [src, dst] = await Promise.all([startLocalS3({ buckets: ['media'] }), startLocalS3({ buckets: ['media'] })]);
  t.after(() => Promise.all([src.stop(), dst.stop()]));
  const open = (endpoint: string) => connect({ url: endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: 'S3RVER', secretKey: new Secret('S3RVER') });
  const [s, d] = [open(src.endpoint), open(dst.endpoint)];
  t.after(() => {
    s.destroy();
    d.destroy();
  });
  await putObjects(s, 'media', objects, 4);
  return {
    aliasEnv: { env: { MC_HOST_src: mcHost(src.endpoint), MC_HOST_dst: mcHost(dst.endpoint) } },
    destKeys: async () => ((await d.client.send(new ListObjectsV2Command({ Bucket: 'media' }))).Contents ?? []).map((o) => o.Key).sort(),
  };
}

/** A webhook receiver on 127.0.0.1: every request's JSON body, and a promise per request count. */
export async function webhookReceiver(t: TestContext, status = 200) {
  const bodies: Record<string, unknown>[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.statusCode = status;
      res.end();
      for (const w of waiters.filter((w) => bodies.length >= w.n)) w.resolve();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=t0k3n`,
    bodies,
    /** Resolves once `n` requests have arrived. */
    received: (n: number) => (bodies.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}
