// The embedded demo (`s3mig demo`, `npm start`): two local S3 endpoints on 127.0.0.1 (the server
// harness), the source bucket seeded from sample-data/media/ plus a large object generated at start,
// the destination seeded with drift (part already copied, stale objects, extras), and the aliases
// `src` and `dst` pointing at them, for a migration that shows every verdict.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Secret } from '../core/secret.ts';
import { compareKeys } from '../core/key-order.ts';
import { mapPool } from '../core/pool.ts';
import { connect, type S3Connection } from '../s3/client.ts';
import { startLocalS3, type LocalS3 } from '../testing/s3-server.ts';

export const DEMO_BUCKET = 'media';
/** Over mc's and s3mig's 16 MiB part size: copied as a multipart upload, so its ETag is not comparable. */
export const DEMO_LARGE_KEY = 'video/keynote 2024.mp4';
const LARGE_SIZE = 17 * 1024 * 1024 + 12_345;

export interface DemoSetup {
  /** MC_HOST_src and MC_HOST_dst, for alias resolution (never printed). */
  env: NodeJS.ProcessEnv;
  source: string;
  dest: string;
  /** What was seeded, for the operator. */
  seeded: { source: number; dest: number; bytes: number };
  stop(): Promise<void>;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)).split(sep).join('/'))
    .sort(compareKeys);
}

/** Deterministic bytes (xorshift), so that every demo seeds the same large object. */
function largeBody(size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, Math.min(i, size - 4));
  }
  return b;
}

const mcHostOf = (s: LocalS3) => s.endpoint.replace('http://', `http://${encodeURIComponent(s.accessKey)}:${encodeURIComponent(s.secretKey)}@`);

async function put(conn: S3Connection, key: string, body: Buffer): Promise<void> {
  await conn.client.send(new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: key, Body: body, ContentLength: body.length }));
}

/** Starts both endpoints and seeds them; `stop()` stops them (and is safe to call twice). */
export async function startDemo(mediaDir: string): Promise<DemoSetup> {
  const servers: LocalS3[] = [];
  const conns: S3Connection[] = [];
  const stop = async () => {
    for (const c of conns.splice(0)) c.destroy();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  };
  try {
    const src = await startLocalS3({ buckets: [DEMO_BUCKET] });
    servers.push(src);
    const dst = await startLocalS3({ buckets: [DEMO_BUCKET] });
    servers.push(dst);
    const open = (s: LocalS3) => {
      const c = connect({ url: s.endpoint, region: 'us-east-1', pathStyle: true }, { accessKey: s.accessKey, secretKey: new Secret(s.secretKey) });
      conns.push(c);
      return c;
    };
    const [s, d] = [open(src), open(dst)];
    const keys = await filesUnder(mediaDir);
    let bytes = 0;
    let destCount = 0;
    await mapPool(keys.map((key, i) => ({ key, i })), 16, async ({ key, i }) => {
      const body = await readFile(join(mediaDir, ...key.split('/')));
      bytes += body.length;
      await put(s, key, body);
      // The destination's drift: most objects copied already, some stale in size or in content.
      if (i % 17 === 0) await put(d, key, body.subarray(0, Math.max(1, body.length >> 1)));
      else if (i % 19 === 0) await put(d, key, Buffer.from(body.map((x, j) => (j === 0 ? x ^ 0xff : x))));
      else if (i % 5 !== 4) await put(d, key, body);
      else return;
      destCount++;
    });
    const large = largeBody(LARGE_SIZE);
    await put(s, DEMO_LARGE_KEY, large);
    bytes += large.length;
    // Extras: left behind in the destination by an earlier system.
    const extras = ['old/export-2019.csv', 'old/export-2020.csv', 'tmp/upload-3f2a.part', 'thumbs.db'];
    for (const key of extras) await put(d, key, Buffer.from(`left over: ${key}\n`));
    destCount += extras.length;
    return {
      env: { MC_HOST_src: mcHostOf(src), MC_HOST_dst: mcHostOf(dst) },
      source: `src/${DEMO_BUCKET}`,
      dest: `dst/${DEMO_BUCKET}`,
      seeded: { source: keys.length + 1, dest: destCount, bytes },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
