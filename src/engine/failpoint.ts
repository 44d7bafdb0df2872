// Failpoints for tests (design §12): named places where, when S3MIG_FAILPOINT names them, the process dies or fails on purpose.
//
// S3MIG_FAILPOINT is a comma-separated list of `name[@hit][=action]`: the point fires on its hit-th pass
// (default 1) with `kill` (SIGKILL, the default), `sigterm`, `sigint` or `sighup` (the stop signals an
// operator or a closing terminal sends), `enospc` (a full-disk error thrown where the point stands) or
// `throw` (an unexpected error thrown there: a crash).

export const FAILPOINTS = [
  'ingest:before-batch',
  'ingest:entries-written',
  'ingest:after-batch',
  'compare:before-checkpoint',
  'compare:after-checkpoint',
  'report:before-rename',
  'report:before-summary',
  'report:before-state',
  'fix:after-copy',
  'transfer:after-copy',
  'tui:render',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

type Action = 'kill' | 'sigterm' | 'sigint' | 'sighup' | 'enospc' | 'throw';

interface Armed {
  hit: number;
  action: Action;
  passes: number;
}

function parse(spec: string | undefined): Map<string, Armed> {
  const out = new Map<string, Armed>();
  for (const part of (spec ?? '').split(',')) {
    const m = /^\s*([a-z-]+:[a-z-]+)(?:@(\d+))?(?:=(kill|sigterm|sigint|sighup|enospc|throw))?\s*$/.exec(part);
    if (m) out.set(m[1]!, { hit: Number(m[2] ?? 1), action: (m[3] ?? 'kill') as Action, passes: 0 });
  }
  return out;
}

const armed = parse(process.env.S3MIG_FAILPOINT);

/** Marks a pass through a failpoint; does nothing unless the environment arms it. */
export function failpoint(name: FailpointName): void {
  if (armed.size === 0) return;
  const a = armed.get(name);
  if (!a || ++a.passes !== a.hit) return;
  switch (a.action) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'sigterm':
    case 'sigint':
    case 'sighup':
      process.kill(process.pid, a.action.toUpperCase() as NodeJS.Signals);
      break;
    case 'enospc':
      throw Object.assign(new Error(`ENOSPC: no space left on device (failpoint ${name})`), { code: 'ENOSPC', errno: -28 });
    case 'throw':
      throw new Error(`failpoint ${name}`);
  }
}
