// A running job's record and event stream: every state change is persisted in job.json before it is acted on.
import type { JobRecord } from '../core/job-record.ts';
import { transition, type JobState } from '../core/job-state.ts';
import { writeJobRecord, type JobPaths } from '../store/state-dir.ts';
import { EventLog } from '../store/event-log.ts';
import type { EngineEvent, EventBus, EventInput } from './events.ts';

export class JobHandle {
  private readonly log: EventLog;
  private readonly unsubscribe: () => void;

  constructor(
    readonly record: JobRecord,
    readonly paths: JobPaths,
    private readonly bus: EventBus,
  ) {
    this.log = new EventLog(paths.events);
    this.unsubscribe = bus.subscribe((e) => this.log.append(e));
  }

  get id(): string {
    return this.record.id;
  }

  /** Stamps an event with the job id and time and sends it to every subscriber, the event log included. */
  emit(event: EventInput): void {
    const full = (event.type === 'summary' ? event : { ...event, ts: new Date().toISOString(), jobId: this.id }) as EngineEvent;
    this.bus.emit(full);
  }

  async persist(patch: Partial<JobRecord> = {}): Promise<void> {
    Object.assign(this.record, patch, { updatedAt: new Date().toISOString() });
    await writeJobRecord(this.paths, this.record);
  }

  /** Moves to `state` (a legal transition), writes job.json, then announces it. */
  async setState(state: JobState, reason?: string, patch: Partial<JobRecord> = {}): Promise<void> {
    const previous = this.record.state;
    transition(previous, state, this.record.pausedIn);
    const leavingPause = previous === 'paused' ? { pausedIn: undefined, pauseReason: undefined } : {};
    await this.persist({ ...leavingPause, ...patch, state });
    this.emit({ type: 'job:state', state, previous, ...(reason ? { reason } : {}) });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.log.close();
  }
}
