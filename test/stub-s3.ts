// A stub S3 endpoint for tests that need a job held still without timers: one bucket `bkt` of
// counter-named keys (obj-000000, obj-000001, ...) whose ListObjectsV2 answers pages until a given key and
// then holds the next request unanswered until released.
import type { TestContext } from 'node:test';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MD5_A } from './helpers.ts';

export interface Stub {
  endpoint: string;
  /** Resolves when the first request at or past `holdFrom` arrives (and is held). */
  held: Promise<void>;
  /** Answers the held requests and every later one. */
  release(): void;
}

export const keyOf = (i: number) => `obj-${String(i).padStart(6, '0')}`;
const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export async function startStub(t: TestContext, keys: number, holdFrom: number): Promise<Stub> {
  const all = Array.from({ length: keys }, (_, i) => keyOf(i));
  /** The first index whose key is above `after` (or, `orEqual`, not below it); keys are ASCII, so < is byte order. */
  const above = (after: string, orEqual = false) => {
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]! < after || (!orEqual && all[mid] === after)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let holding = true;
  let heldSeen: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (heldSeen = resolve));
  const waiting: (() => void)[] = [];

  const page = (bucket: string, q: URLSearchParams, res: ServerResponse) => {
    const prefix = q.get('prefix') ?? '';
    const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
    let i = Math.max(above(q.get('continuation-token') ?? q.get('start-after') ?? ''), above(prefix, true));
    const out: string[] = [];
    for (; i < all.length && out.length < maxKeys && all[i]!.startsWith(prefix); i++) out.push(all[i]!);
    const truncated = i < all.length && all[i]!.startsWith(prefix);
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${out.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>` +
      (q.get('encoding-type') ? `<EncodingType>${xml(q.get('encoding-type')!)}</EncodingType>` : '') +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${xml(out.at(-1)!)}</NextContinuationToken>` : '') +
      out
        .map((k) => `<Contents><Key>${k}</Key><LastModified>2025-03-04T10:15:30.512Z</LastModified><ETag>&quot;${MD5_A}&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>`)
        .join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const bucket = url.pathname.split('/')[1] ?? '';
    const q = url.searchParams;
    if (req.method !== 'GET' || q.get('list-type') !== '2' || bucket !== 'bkt') {
      const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>stub: ListObjectsV2 of bucket bkt only</Message></Error>';
      res.writeHead(501, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const first = above(q.get('continuation-token') ?? q.get('start-after') ?? '');
    if (holding && first >= holdFrom && Number(q.get('max-keys') ?? 1000) > 1) {
      waiting.push(() => {
        if (!res.destroyed) page(bucket, q, res);
      });
      heldSeen();
      return;
    }
    page(bucket, q, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    release() {
      holding = false;
      for (const answer of waiting.splice(0)) answer();
    },
  };
}

