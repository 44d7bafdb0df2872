// The job lifecycle of design §8 as data and one pure transition function.

export const JOB_STATES = [
  'initializing',
  'validating',
  'estimating',
  'preparing',
  'transferring',
  'collecting-inventory',
  'comparing',
  'generating-report',
  'fixing',
  'completed',
  'completed-with-differences',
  'failed',
  'paused',
  'canceled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ['completed', 'completed-with-differences', 'failed', 'canceled'];

/** The forward path of a job; `paused`, `failed` and `canceled` are reachable from any active state. */
const FORWARD: Record<JobState, readonly JobState[]> = {
  initializing: ['validating'],
  validating: ['estimating', 'collecting-inventory'],
  estimating: ['preparing'],
  preparing: ['transferring', 'collecting-inventory'],
  transferring: ['collecting-inventory'],
  'collecting-inventory': ['comparing'],
  comparing: ['generating-report'],
  'generating-report': ['completed', 'completed-with-differences', 'fixing'],
  fixing: ['generating-report'],
  completed: ['fixing'],
  'completed-with-differences': ['fixing'],
  failed: [],
  paused: [],
  canceled: [],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Whether a job may move from `from` to `to`; `resumeTo` is the state a paused job returns to. */
export function canTransition(from: JobState, to: JobState, resumeTo?: JobState): boolean {
  if (from === 'paused') return to === 'canceled' || to === 'failed' || (resumeTo !== undefined && to === resumeTo);
  if (isTerminal(from) && from !== 'completed' && from !== 'completed-with-differences') return false;
  if (!isTerminal(from) && (to === 'paused' || to === 'failed' || to === 'canceled')) return true;
  return FORWARD[from].includes(to);
}

/** Returns `to` when the move is legal, throws a TypeError (a programming error) when it is not. */
export function transition(from: JobState, to: JobState, resumeTo?: JobState): JobState {
  if (!canTransition(from, to, resumeTo)) throw new TypeError(`illegal job transition ${from} -> ${to}`);
  return to;
}
