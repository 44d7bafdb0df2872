// Writes sample-data/source.ndjson and sample-data/dest.ndjson.gz: two mc-format inventories with every kind of drift.
// Deterministic (seeded), so the committed files only change when this script does. Run: node --import tsx scripts/make-sample-data.ts
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { compareKeys } from '../src/core/key-order.ts';

const OUT = fileURLToPath(new URL('../sample-data/', import.meta.url));

let seed = 20261129;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

interface Line {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
  type?: 'folder';
  storageClass?: string;
}

function mcLine(l: Line, url: string): string {
  return JSON.stringify({
    status: 'success',
    type: l.type ?? 'file',
    lastModified: l.lastModified,
    size: l.size,
    key: l.key,
    etag: l.etag,
    url,
    versionOrdinal: 1,
    storageClass: l.storageClass ?? 'STANDARD',
  });
}

const names = ['IMG_0412.jpg', 'IMG_0413.jpg', 'scan-002.pdf', 'report final (v2).docx', 'Résumé – Zoë.pdf', 'données.csv', 'ファイル.txt', '📷 holiday.heic', 'a&b=c.txt', "it's here.txt", 'notes.md', 'video.mp4'];
const dirs = ['photos/2024/07', 'photos/2025/01', 'invoices/2025', 'exports/db', 'logs/app/2025/11/29', 'projects/alpha/src/lib/deep/nested/more', 'users/zoë', 'shared/チーム'];

const source: Line[] = [];
const seen = new Set<string>();
function add(l: Line): void {
  if (seen.has(l.key)) return;
  seen.add(l.key);
  source.push(l);
}
for (let i = 0; source.length < 300; i++) {
  const dir = pick(dirs);
  const key = `${dir}/${i % 7 === 0 ? `${i}-` : ''}${pick(names)}`;
  const size = Math.floor(rand() * 5_000_000) + 1;
  const multipart = size > 4_600_000;
  const day = 1 + Math.floor(rand() * 28);
  add({
    key,
    size,
    etag: multipart ? `${md5(key + 'mp')}-${Math.ceil(size / 1_048_576)}` : md5(key),
    lastModified: `2025-10-${String(day).padStart(2, '0')}T08:${String(i % 60).padStart(2, '0')}:00.${String(i % 1000).padStart(3, '0')}Z`,
  });
}
// Folder markers, empty objects and keys whose UTF-16 order differs from their UTF-8 byte order.
add({ key: 'backups/', size: 0, etag: '', lastModified: '2025-09-01T00:00:00Z', type: 'folder' });
add({ key: 'photos/', size: 0, etag: '', lastModified: '2025-09-01T00:00:00Z', type: 'folder' });
add({ key: 'logs/.keep', size: 0, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified: '2025-09-01T00:00:00Z' });
add({ key: 'emoji/😀.txt', size: 120, etag: md5('emoji1'), lastModified: '2025-09-02T00:00:00Z' });
add({ key: 'emoji/～wave.txt', size: 121, etag: md5('wave'), lastModified: '2025-09-02T00:00:00Z' });
add({ key: 'archive/cold-2019.tar', size: 73_400_320, etag: `${md5('cold')}-5`, lastModified: '2025-01-01T00:00:00Z', storageClass: 'GLACIER' });
source.sort((a, b) => compareKeys(a.key, b.key));

// Build the destination with drift.
const dest: Line[] = [];
let n = 0;
for (const l of source) {
  n++;
  if (n % 19 === 0) continue; // missing
  if (n % 23 === 0) {
    dest.push({ ...l, size: l.size + 4096, etag: md5(l.key + 'truncated') }); // sizeMismatch
  } else if (n % 29 === 0 && !l.etag.includes('-') && l.size > 0) {
    dest.push({ ...l, etag: md5(l.key + 'corrupt') }); // etagMismatch
  } else if (l.etag.includes('-')) {
    // re-uploaded by mc with 16 MiB parts: a different multipart ETag, not evidence of corruption
    const parts = Math.max(1, Math.ceil(l.size / 16_777_216));
    dest.push({ ...l, etag: parts > 1 ? `${md5(l.key + 'mc')}-${parts}` : `${md5(l.key + 'mc')}-1`, lastModified: '2025-11-29T03:00:00Z' });
  } else {
    dest.push({ ...l, lastModified: '2025-11-29T03:00:00Z' });
  }
}
for (let i = 0; i < 9; i++) {
  dest.push({ key: `tmp/upload-${i}.part`, size: 1024 * (i + 1), etag: md5(`extra${i}`), lastModified: '2025-11-28T22:00:00Z' });
}
dest.push({ key: 'photos/2025/01/old-thumbnail.jpg', size: 2048, etag: md5('stale'), lastModified: '2024-01-01T00:00:00Z' });
// mc listings written by hand or concatenated can name a key twice: the last entry wins.
const dup = dest[10]!;
dest.splice(3, 0, { ...dup, size: dup.size + 1, etag: md5('older copy') });
for (let i = dest.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [dest[i], dest[j]] = [dest[j]!, dest[i]!];
}
const dupAt = dest.findIndex((l) => l.key === dup.key && l.etag === md5('older copy'));
const lastAt = dest.findIndex((l, i) => i !== dupAt && l.key === dup.key);
if (dupAt > lastAt) [dest[dupAt], dest[lastAt]] = [dest[lastAt]!, dest[dupAt]!];

const total = (ls: Line[]) => ls.reduce((s, l) => s + l.size, 0);
const srcText =
  source.map((l) => mcLine(l, 'https://s3.eu-west-1.example.net/media/')).join('\n') +
  `\n${JSON.stringify({ totalObjects: source.length, totalSize: total(source) })}\n`;
const dstText = dest.map((l) => mcLine(l, 'https://minio.internal.example:9000/media-copy/')).join('\n') + '\n';
writeFileSync(`${OUT}source.ndjson`, srcText);
writeFileSync(`${OUT}dest.ndjson.gz`, gzipSync(dstText, { level: 9, mtime: 0 } as never));
console.log(`sample-data: ${source.length} source entries, ${dest.length} dest entries`);
