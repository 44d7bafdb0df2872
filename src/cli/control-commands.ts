// The commands that act on a job from outside its process: `s3mig pause JOB`, `s3mig cancel JOB` (through its control socket) and `s3mig prune JOB`.
import { jobPaths, readJobRecord, resolveStateDir } from '../store/state-dir.ts';
import { sendControl } from '../engine/control.ts';
import { pruneJob } from '../engine/prune.ts';

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface JobArgs {
  'state-dir'?: string;
  json?: boolean;
  job: string;
}

/** Asks the process running a job to pause or cancel it; the job stops at its next batch boundary. */
async function requestStop(io: Io, args: JobArgs, action: 'pause' | 'cancel'): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  // An unknown job is named as such, before any socket is looked for.
  await readJobRecord(stateDir, args.job);
  const reply = await sendControl(jobPaths(stateDir, args.job).dir, action);
  if (args.json) {
    io.stdout.write(JSON.stringify({ jobId: args.job, action, requested: true, pid: reply.pid }) + '\n');
  } else {
    io.stdout.write(`job ${args.job}: ${action} requested (pid ${reply.pid})\n`);
  }
  return 0;
}

export function pauseCommand(io: Io, args: JobArgs): Promise<number> {
  return requestStop(io, args, 'pause');
}

export function cancelCommand(io: Io, args: JobArgs): Promise<number> {
  return requestStop(io, args, 'cancel');
}

/** Megabytes with one decimal, as an operator reads a size freed. */
function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} MB`;
}

export async function pruneCommand(io: Io, args: JobArgs): Promise<number> {
  const stateDir = resolveStateDir(args['state-dir']);
  const r = await pruneJob(stateDir, args.job);
  if (args.json) {
    io.stdout.write(JSON.stringify({ jobId: r.id, state: r.state, pruned: true, alreadyPruned: r.alreadyPruned, prunedAt: r.prunedAt, freedBytes: r.freedBytes }) + '\n');
  } else if (r.alreadyPruned) {
    io.stdout.write(`job ${r.id}: already pruned at ${r.prunedAt}\n`);
  } else {
    io.stdout.write(`job ${r.id}: pruned (${megabytes(r.freedBytes)} freed)\n`);
  }
  return 0;
}
