// Review marks in a job folder's marks.ndjson: last line wins, null clears, torn lines skipped, no file is no marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MARKS_FILE, appendMarks, readMarks } from '../../src/store/marks.ts';
import { tempDir } from '../helpers.ts';

test('no marks file is an empty map', async (t) => {
  const dir = await tempDir(t);
  assert.deepEqual(await readMarks(dir), new Map());
});

test('the last line for a key wins, null clears it, and every key of a call is appended in one go', async (t) => {
  const dir = await tempDir(t);
  await appendMarks(dir, ['a', 'b', 'new\nline "q"'], 'ignore');
  await appendMarks(dir, ['b'], 'accept');
  await appendMarks(dir, ['a'], null);
  await appendMarks(dir, [], 'accept');
  assert.deepEqual(await readMarks(dir), new Map([['b', 'accept'], ['new\nline "q"', 'ignore']]));
  const lines = (await readFile(join(dir, MARKS_FILE), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  assert.deepEqual(lines.map((l) => [l.key, l.mark]), [['a', 'ignore'], ['b', 'ignore'], ['new\nline "q"', 'ignore'], ['b', 'accept'], ['a', null]]);
  assert.match(lines[0].ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('a torn last line (a crash mid-append) is skipped, and a later append starts on a line of its own', async (t) => {
  const dir = await tempDir(t);
  await appendMarks(dir, ['kept'], 'accept');
  await appendFile(join(dir, MARKS_FILE), '{"key":"torn","mark":"ign');
  assert.deepEqual(await readMarks(dir), new Map([['kept', 'accept']]));
  await appendMarks(dir, ['after'], 'ignore');
  assert.deepEqual(await readMarks(dir), new Map([['kept', 'accept'], ['after', 'ignore']]));
  // Lines with an unknown mark or no key are not marks either.
  await appendFile(join(dir, MARKS_FILE), '{"key":"x","mark":"delete","ts":""}\n{"mark":"accept"}\n');
  assert.deepEqual(await readMarks(dir), new Map([['kept', 'accept'], ['after', 'ignore']]));
});
