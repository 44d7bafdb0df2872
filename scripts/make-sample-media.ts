// Writes sample-data/media/: the few hundred files the demo's source bucket is seeded from (realistic
// names, some non-ASCII, some nested deep), deterministic, so that running it again changes nothing.
// Objects over 16 MiB are not kept here: the demo generates them when it starts.
//
//   node --import tsx scripts/make-sample-media.ts
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from './bench-common.ts';

const ROOT = fileURLToPath(new URL('../sample-data/media/', import.meta.url));

function names(): string[] {
  const out: string[] = [];
  for (let m = 1; m <= 12; m++) for (let i = 0; i < 12; i++) out.push(`photos/2024/${String(m).padStart(2, '0')}/IMG_${String(4000 + m * 100 + i)}.jpg`);
  for (const q of ['Q1', 'Q2', 'Q3', 'Q4']) out.push(`docs/finance/${q} report (final).pdf`, `docs/finance/${q} report (draft v2).pdf`);
  for (let i = 0; i < 20; i++) out.push(`docs/meetings/2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')} notes.md`);
  out.push('música/canción de cuna.mp3', 'música/Ñandú – en vivo.mp3', 'música/Édith Piaf/La vie en rose.mp3', 'música/Motörhead/Ace of Spades.mp3');
  out.push('日本語/報告書.txt', '日本語/写真/東京タワー.jpg', 'Ελληνικά/έκθεση.txt', 'Русский/отчёт 2024.txt');
  out.push('📷 camera roll/sunset 🌅.jpg', '📷 camera roll/cat 🐈.jpg', 'emoji/😀.txt');
  out.push('deep/a/b/c/d/e/f/g/h/readme.md', 'deep/a/b/c/d/e/f/g/h/i/j/k/notes.txt', 'deep/a/b/c/config.json');
  for (let i = 0; i < 60; i++) out.push(`logs/app/2024/11/${String((i % 30) + 1).padStart(2, '0')}/app-${String(i).padStart(3, '0')}.log`);
  for (let i = 0; i < 30; i++) out.push(`backups/db/dump-${String(i).padStart(2, '0')}.sql.gz`);
  out.push('README.md', 'index.html', 'a b+c.txt', '100% done.txt', "it's quoted.txt");
  return out;
}

async function main(): Promise<void> {
  await rm(ROOT, { recursive: true, force: true });
  const rnd = prng(0x5eed);
  let bytes = 0;
  const all = names();
  for (const name of all) {
    const size = name.endsWith('.log') || name.endsWith('.md') || name.endsWith('.txt') ? 200 + Math.floor(rnd() * 3000) : 2000 + Math.floor(rnd() * 14000);
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i++) body[i] = name.endsWith('.jpg') || name.endsWith('.gz') || name.endsWith('.mp3') ? Math.floor(rnd() * 256) : 32 + Math.floor(rnd() * 95);
    const path = join(ROOT, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    bytes += size;
  }
  process.stdout.write(`sample-data/media: ${all.length} files, ${bytes.toLocaleString('en-US')} bytes\n`);
}

await main();
