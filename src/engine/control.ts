// A running job's control socket (design §4): other processes ask the process that holds the job to pause or cancel it, or how it is doing.
//
// The protocol is one JSON object per line over a Unix-domain socket. A request is
// `{"action":"pause"|"cancel"|"status"|"fix"|"retry","from":<pid>}` (fix may add `"deleteExtras":true`);
// fix and retry are queued: the holder runs them when the job's current run has finished; the answer is `{"ok":true,"jobId":...,"pid":<server pid>,...}`
// or `{"ok":false,"error":"..."}`. The socket is `<jobDir>/control.sock`, or, when that path is longer than
// a Unix socket address allows, a socket in the temporary folder named from a hash of the job folder, with
// `<jobDir>/control.sock.path` pointing at it.
import { createHash } from 'node:crypto';
import { chmod, lstat, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { S3migError, oneLine } from '../core/errors.ts';
import { readJobRecord } from '../store/state-dir.ts';

export type ControlAction = 'pause' | 'cancel' | 'status' | FollowUpAction;
/** Work queued on the process that holds a job, run when its current run has finished. */
export type FollowUpAction = 'fix' | 'retry';

export interface ControlRequest {
  action: ControlAction;
  /** The pid of the asking process, named in the job's pause or cancel reason. */
  from: number;
  /** fix: also delete extras (the asking operator confirmed it). */
  deleteExtras?: boolean;
}

export type ControlReply =
  | ({ ok: true; jobId: string; pid: number; action: ControlAction } & Record<string, unknown>)
  | { ok: false; error: string };

export interface ControlOptions {
  jobDir: string;
  jobId: string;
  /** Stop at the next batch boundary with a checkpoint (state paused); reason: `paused by request from pid N`. */
  onPause(reason: string): void;
  /** Stop at the next batch boundary, checkpoints kept (state canceled); reason: `canceled by request from pid N`. */
  onCancel(reason: string): void;
  /** Extra fields of a status answer (state, progress); never secrets or the environment. */
  status?: () => object;
  /** Queues a fix or retry to run after the current run; returns what the answer says. Absent: refused. */
  onFollowUp?: (action: FollowUpAction, options: { deleteExtras: boolean }, from: number) => string;
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/** A Unix socket address holds at most 107 bytes (108 with its terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;
export const SOCKET_NAME = 'control.sock';
export const POINTER_NAME = 'control.sock.path';
const DEFAULT_TIMEOUT_MS = 5_000;
/** A request line longer than this is refused (requests are a few dozen bytes). */
const MAX_LINE_BYTES = 16 * 1024;

/** Where a job's socket lives: in its folder, or, for a long folder path, in the temporary folder (with a pointer file). */
export function controlSocketPath(jobDir: string): { path: string; pointer?: string } {
  const dir = resolve(jobDir);
  const inDir = join(dir, SOCKET_NAME);
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH_BYTES) return { path: inDir };
  const hash = createHash('sha1').update(dir).digest('hex').slice(0, 16);
  return { path: join(tmpdir(), `s3mig-${hash}.sock`), pointer: join(dir, POINTER_NAME) };
}

/** The socket another process should connect to: the pointer file's target when there is one. */
async function socketToReach(jobDir: string): Promise<string> {
  const pointer = join(resolve(jobDir), POINTER_NAME);
  try {
    const text = (await readFile(pointer, 'utf8')).trim();
    if (text !== '') return text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return controlSocketPath(jobDir).path;
}

type Probe = { live: true; reply: ControlReply | undefined } | { live: false };

/**
 * Connects to a socket and, when something answers, asks it for its status. ENOENT and ECONNREFUSED
 * (a socket file without a process: one that crashed) mean nobody is there.
 */
function exchange(path: string, request: ControlRequest, timeoutMs: number): Promise<Probe> {
  return new Promise<Probe>((resolvePromise, reject) => {
    let settled = false;
    let buffered = '';
    const socket: Socket = createConnection({ path });
    const finish = (err: unknown, value?: Probe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolvePromise(value!);
    };
    // Connected but silent: someone holds the socket without answering (a hung process); still live.
    const timer = setTimeout(() => finish(undefined, { live: true, reply: undefined }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (d: string) => {
      buffered += d;
      const nl = buffered.indexOf('\n');
      if (nl === -1) {
        if (buffered.length > MAX_LINE_BYTES) finish(undefined, { live: true, reply: undefined });
        return;
      }
      let reply: ControlReply | undefined;
      try {
        const parsed = JSON.parse(buffered.slice(0, nl)) as unknown;
        if (parsed && typeof parsed === 'object' && typeof (parsed as { ok?: unknown }).ok === 'boolean') reply = parsed as ControlReply;
      } catch {
        reply = undefined;
      }
      finish(undefined, { live: true, reply });
    });
    socket.on('end', () => finish(undefined, { live: true, reply: undefined }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') finish(undefined, { live: false });
      else finish(err);
    });
  });
}

function lockedBy(jobId: string, probe: Probe & { live: true }): S3migError {
  const pid = probe.reply?.ok ? probe.reply.pid : undefined;
  return new S3migError(
    'S3MIG_STATE_LOCKED',
    pid !== undefined
      ? `job ${jobId} is held by another s3mig process (pid ${pid} answers on its control socket)`
      : `job ${jobId} is held by another process (its control socket accepts connections but gives no s3mig answer)`,
  );
}

/** The identity of a file, to remove on close only the socket this process made. */
async function inodeOf(path: string): Promise<string | undefined> {
  try {
    const st = await lstat(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

async function removeIfOurs(path: string, inode: string | undefined): Promise<void> {
  if (inode === undefined || (await inodeOf(path)) !== inode) return;
  await unlink(path).catch(() => undefined);
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolvePromise();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(path);
  });
}

/** Parses one request line; an answer of `{ok:false}` for anything that is not a request. */
function parseRequest(line: string): ControlRequest | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return 'the request is not JSON';
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return 'the request is not a JSON object';
  const { action, from, deleteExtras } = parsed as { action?: unknown; from?: unknown; deleteExtras?: unknown };
  if (action !== 'pause' && action !== 'cancel' && action !== 'status' && action !== 'fix' && action !== 'retry') {
    return `unknown action ${JSON.stringify(action ?? null)} (pause, cancel, status, fix or retry)`;
  }
  if (typeof from !== 'number' || !Number.isInteger(from) || from <= 0) return '"from" must be the pid of the asking process';
  if (deleteExtras !== undefined && typeof deleteExtras !== 'boolean') return '"deleteExtras" must be true or false';
  return { action, from, ...(deleteExtras === true ? { deleteExtras: true } : {}) };
}

/**
 * Opens the job's control socket and serves pause, cancel and status requests until closed. A socket
 * file left by a crashed process is replaced; one that a live process answers on makes this throw
 * S3MIG_STATE_LOCKED naming that process.
 */
export async function serveControl(opts: ControlOptions): Promise<ControlServer> {
  const { jobId } = opts;
  const { path, pointer } = controlSocketPath(opts.jobDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${jobId}: no control socket: ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes (set TMPDIR to a shorter folder)`);
  }
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buffered = '';
    const answer = (reply: ControlReply) => {
      if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
    };
    socket.on('data', (d: string) => {
      buffered += d;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        const request = parseRequest(line);
        if (typeof request === 'string') {
          answer({ ok: false, error: request });
          continue;
        }
        try {
          const base = { ok: true as const, jobId, pid: process.pid, action: request.action };
          if (request.action === 'pause') {
            opts.onPause(`paused by request from pid ${request.from}`);
            answer(base);
          } else if (request.action === 'cancel') {
            opts.onCancel(`canceled by request from pid ${request.from}`);
            answer(base);
          } else if (request.action === 'fix' || request.action === 'retry') {
            if (!opts.onFollowUp) throw new Error(`this process cannot run a ${request.action} after its job`);
            const message = opts.onFollowUp(request.action, { deleteExtras: request.deleteExtras === true }, request.from);
            answer({ ...base, message });
          } else {
            // The job's own fields first, so that ok, jobId, pid and action cannot be overridden.
            answer({ ...(opts.status?.() ?? {}), ...base });
          }
        } catch (err) {
          answer({ ok: false, error: oneLine(err) });
        }
      }
      if (buffered.length > MAX_LINE_BYTES) {
        answer({ ok: false, error: `request longer than ${MAX_LINE_BYTES} bytes` });
        socket.end();
      }
    });
  });

  // Two attempts: a socket that appears between the check and the bind is checked again.
  for (let attempt = 0; ; attempt++) {
    const probe = await exchange(path, { action: 'status', from: process.pid }, DEFAULT_TIMEOUT_MS).catch((err: unknown) => {
      throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${jobId}: cannot check its control socket ${path}: ${oneLine(err)}`, { cause: err });
    });
    if (probe.live) throw lockedBy(jobId, probe);
    // Nobody answers: whatever socket file is there was left by a process that is gone.
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${jobId}: cannot remove the stale control socket ${path}: ${oneLine(err)}`, { cause: err });
    });
    try {
      await listen(server, path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt === 0) continue;
      throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${jobId}: cannot open the control socket ${path}: ${oneLine(err)}`, { cause: err });
    }
  }
  const inode = await inodeOf(path);
  const closeServer = () =>
    new Promise<void>((resolvePromise) => {
      for (const c of connections) c.destroy();
      server.close(() => resolvePromise());
    });
  try {
    await chmod(path, 0o600);
    if (pointer) {
      const tmp = `${pointer}.${process.pid}.tmp`;
      await writeFile(tmp, path + '\n', { mode: 0o600 });
      await rename(tmp, pointer);
    }
  } catch (err) {
    await closeServer();
    await removeIfOurs(path, inode);
    throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${jobId}: cannot set up the control socket ${path}: ${oneLine(err)}`, { cause: err });
  }

  let closing: Promise<void> | undefined;
  return {
    path,
    close() {
      closing ??= (async () => {
        await closeServer();
        // server.close() removes the socket file itself; the check keeps a successor's socket in place.
        await removeIfOurs(path, inode);
        if (pointer) {
          const target = await readFile(pointer, 'utf8').catch(() => undefined);
          if (target?.trim() === path) await unlink(pointer).catch(() => undefined);
        }
      })();
      return closing;
    },
  };
}

/**
 * Asks the process running a job (by its folder) for an action and returns its answer. A job without a
 * live process gets S3MIG_JOB_NOT_RUNNING, with the state its job.json records.
 */
export async function sendControl(
  jobDir: string,
  action: ControlAction,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  options: { deleteExtras?: boolean } = {},
): Promise<ControlReply & { ok: true }> {
  const dir = resolve(jobDir);
  const id = basename(dir);
  const path = await socketToReach(dir);
  let probe: Probe;
  try {
    probe = await exchange(path, { action, from: process.pid, ...(options.deleteExtras ? { deleteExtras: true } : {}) }, timeoutMs);
  } catch (err) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${id}: cannot reach its control socket ${path}: ${oneLine(err)}`, { cause: err });
  }
  if (!probe.live) {
    const record = await readJobRecord(dirname(dirname(dir)), id);
    const hint = record.state === 'paused' ? ` (continue it with: s3mig resume ${id})` : '';
    throw new S3migError('S3MIG_JOB_NOT_RUNNING', `job ${id} is not running (no process answers on its control socket); its state is ${record.state}${hint}`);
  }
  if (!probe.reply) {
    throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${id}: its control socket ${path} gave no answer within ${Math.round(timeoutMs / 1000)} s`);
  }
  if (!probe.reply.ok) throw new S3migError('S3MIG_STATE_UNREADABLE', `job ${id}: its process refused the ${action} request: ${probe.reply.error}`);
  return probe.reply;
}
