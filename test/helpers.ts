// Shared test helpers: temporary folders removed after each test, and inventory lines in mc's format.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { TestContext } from 'node:test';
import type { ObjectEntry } from '../src/core/entry.ts';

export async function tempDir(t: TestContext, prefix = 's3mig-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface LineSpec {
  key: string;
  size?: number;
  etag?: string;
  lastModified?: string;
  type?: 'file' | 'folder';
  storageClass?: string;
}

/** One line exactly as `mc ls -r --json` prints it (reference/mc-json.md §2). */
export function mcLsLine(l: LineSpec): string {
  return JSON.stringify({
    status: 'success',
    type: l.type ?? (l.key.endsWith('/') ? 'folder' : 'file'),
    lastModified: l.lastModified ?? '2025-03-04T10:15:30.512Z',
    size: l.size ?? 0,
    key: l.key,
    etag: l.etag ?? '',
    url: 'https://s3.example.net/media/',
    versionOrdinal: 1,
    ...(l.storageClass ? { storageClass: l.storageClass } : {}),
  });
}

export async function writeInventory(dir: string, name: string, lines: (LineSpec | string)[], gzip = false): Promise<string> {
  const path = join(dir, name);
  const text = lines.map((l) => (typeof l === 'string' ? l : mcLsLine(l))).join('\n') + '\n';
  await writeFile(path, gzip ? gzipSync(text) : text);
  return path;
}

export function entry(key: string, size = 1, etag = 'd41d8cd98f00b204e9800998ecf8427e', extra: Partial<ObjectEntry> = {}): ObjectEntry {
  return { key, size, etag, lastModified: '2025-01-01T00:00:00Z', ...extra };
}

export const MD5_A = '9b2cf535f27731c974343645a3985328';
export const MD5_B = '0cc175b9c0f1b6a831c399e269772661';

/** The record of the test/fixtures/mc-record fixture: per call, the argument count then the arguments, each NUL-terminated. */
export function parseMcRecord(buf: Buffer): string[][] {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0) {
      fields.push(buf.subarray(start, i).toString('utf8'));
      start = i + 1;
    }
  }
  if (start !== buf.length) throw new Error('the mc record ends with an incomplete field');
  const calls: string[][] = [];
  for (let i = 0; i < fields.length; ) {
    const n = Number(fields[i]);
    if (!Number.isInteger(n) || n < 0 || i + 1 + n > fields.length) throw new Error(`bad argument count at field ${i}`);
    calls.push(fields.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return calls;
}

/** Every file under `dir`, recursively, with its bytes. */
export async function allFiles(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

