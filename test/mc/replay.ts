// The replay fixture's set-up for mc tests: a scenario file, a record path, and a check after each test
// that the child it started (if it recorded its pid) is dead.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';

/** What test/fixtures/mc-replay.mjs reads from $MC_REPLAY_SCENARIO. */
export interface Scenario {
  stdout?: string[];
  stderr?: string[];
  exit?: number;
  hang?: boolean;
  ignoreSigterm?: boolean;
  crash?: boolean | 'signal';
  chunkSplit?: boolean;
  crlf?: boolean;
  noFinalNewline?: boolean;
  version?: string;
}

/** What the fixture wrote to $MC_REPLAY_RECORD on its last run. */
export interface ReplayRecord {
  argv: string[];
  tz: string | null;
  mcHostKeys: string[];
  pid: number;
}

export async function replayScenario(
  t: TestContext,
  sc: Scenario,
  prefix = 's3mig-mc-',
): Promise<{ env: Record<string, string>; dir: string; recordPath: string; record: () => Promise<ReplayRecord> }> {
  const dir = await tempDir(t, prefix);
  const scenarioPath = join(dir, 'scenario.json');
  const recordPath = join(dir, 'record.json');
  await writeFile(scenarioPath, JSON.stringify(sc));
  const record = async (): Promise<ReplayRecord> => JSON.parse(await readFile(recordPath, 'utf8')) as ReplayRecord;
  t.after(async () => {
    let pid: number;
    try {
      pid = (await record()).pid;
    } catch {
      return; // never started
    }
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (alive) {
      process.kill(pid, 'SIGKILL');
      assert.fail(`mc-replay child ${pid} outlived its test`);
    }
  });
  return { env: { MC_REPLAY_SCENARIO: scenarioPath, MC_REPLAY_RECORD: recordPath }, dir, recordPath, record };
}
