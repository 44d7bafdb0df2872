// The full-screen TUI (design §11): the jobs list, a job's dashboard and its differences browser, with
// dialogs. It only subscribes: the dashboard is built from the job's event log, and every action is an
// engine call (engine/workspace.ts). Keys come from the one keymap table (keymap.ts); text from the pure
// presenters; this file places it with blessed and renders at most about ten frames a second.
import blessed from 'blessed';
import { isAbsolute, resolve } from 'node:path';
import { oneLine } from '../core/errors.ts';
import { failpoint } from '../engine/failpoint.ts';
import { isTerminal } from '../core/job-state.ts';
import type { Summary } from '../core/summary.ts';
import { CATEGORIES, type Category } from '../core/verdict.ts';
import type { DifferenceItem, DifferencesView, FilteredDifferences } from '../engine/differences-view.ts';
import type { EventFollower } from '../engine/event-follower.ts';
import type { RunningJob } from '../engine/job-runner.ts';
import { EXPORT_FORMATS, type ExportFormat, type JobEntry, type Workspace } from '../engine/workspace.ts';
import type { ReviewMark } from '../store/marks.ts';
import { patchBlessedWidths } from './cell-width.ts';
import { bindingsFor, type ActionName, type Scope } from './keymap.ts';
import {
  countsRows,
  differenceDetail,
  differenceLine,
  etaText,
  filterLabel,
  fixDialogText,
  footerText,
  gauges,
  headerLines,
  helpRows,
  jobTable,
  logLine,
  outcomeLine,
} from './presenters.ts';
import { columns, escapeTags, pad, truncate } from './text.ts';
import { applyEvent, applyRecord, FILTER_CYCLE, initialJobView, sampleThroughput, type JobListItem, type JobView } from './view-model.ts';
import { bar, sparkline } from './widgets.ts';
import { scheduleTable } from './schedule-presenters.ts';
import type { ScheduleRecord } from '../core/schedule.ts';
import type { SchedulerEvent } from '../engine/scheduler.ts';

export interface TuiOptions {
  workspace: Workspace;
  /** A job this process starts and shows at once (migrate, reconcile, demo). */
  initial?: RunningJob;
  /** Title line addition (the demo says so). */
  title?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** NO_COLOR: no colours, only bold and inverse. */
  noColor?: boolean;
  /** At most this many frames per second (default 10). */
  fps?: number;
  /** Told of the app once its screen exists (tests read the screen through it). */
  onStart?: (app: TuiApp) => void;
  /** Jobs the scheduler runs at once when this TUI owns it (default 2). */
  maxConcurrent?: number;
  /** Do not fire schedules from this TUI (tests of other views). */
  noScheduler?: boolean;
}

export interface TuiResult {
  /** The initial job's summary when it finished, or its error when it failed or was paused. */
  summary?: Summary;
  error?: unknown;
}

type ViewName = 'jobs' | 'dashboard' | 'differences' | 'schedules';
const VIEWS: readonly ViewName[] = ['jobs', 'dashboard', 'differences', 'schedules'];
const FIX_COPIES: readonly Category[] = ['missing', 'sizeMismatch', 'etagMismatch'];

interface Dialog {
  kind: 'confirm' | 'help' | 'detail' | 'prompt' | 'export' | 'fix';
  title: string;
  lines: string[];
  onConfirm?: () => void;
  /** prompt and export: the text being edited. */
  value?: string;
  /** export: the formats chosen, and the focused field (0: directory). */
  formats?: Set<ExportFormat>;
  field?: number;
  /** fix: deletion of extras included. */
  deleteExtras?: boolean;
  canDelete?: boolean;
  fix?: { keys: string[] | undefined; copies: number; deletes: number };
  dangerous?: boolean;
  /** The quit question: Ctrl-C there quits at once. */
  quit?: boolean;
}

interface DiffState {
  jobId: string;
  view: DifferencesView;
  filterIndex: number;
  filtered: FilteredDifferences;
  cursor: number;
  top: number;
  /** The rows on screen, fetched for [windowStart, windowStart + rows.length). */
  rows: DifferenceItem[];
  windowStart: number;
  /** Selected keys and their categories. */
  selected: Map<string, Category>;
  marks: Map<string, ReviewMark>;
  search: string;
  /** Numbered fetches: a stale result is dropped. */
  generation: number;
}

type Handler = (app: TuiApp, scope: Scope) => void | Promise<void>;

/** Every action of the keymap and what it does; the keymap test checks that none is missing. */
export const HANDLERS: Record<ActionName, Handler> = {
  help: (app, scope) => app.showHelp(scope),
  quit: (app) => app.quit(),
  nextView: (app) => app.cycleView(1),
  prevView: (app) => app.cycleView(-1),
  back: (app) => app.back(),
  up: (app) => app.move(-1),
  down: (app) => app.move(1),
  pageUp: (app) => app.move(-app.pageSize()),
  pageDown: (app) => app.move(app.pageSize()),
  top: (app) => app.move(-Infinity),
  bottom: (app) => app.move(Infinity),
  open: (app) => app.open(),
  select: (app, scope) => (scope === 'dialog' ? app.toggleDialogOption() : app.toggleSelect()),
  search: (app) => app.promptSearch(),
  searchNext: (app) => app.searchNext(),
  filter: (app) => app.cycleFilter(),
  ignore: (app) => app.markSelection('ignore'),
  accept: (app) => app.markSelection('accept'),
  fix: (app) => app.askFix(),
  reverify: (app) => app.reverify(),
  export: (app) => app.askExport(),
  retry: (app) => app.act('retry'),
  pause: (app, scope) => (scope === 'schedules' ? app.toggleSchedulePaused() : app.pauseOrResume()),
  cancel: (app) => app.askCancel(),
  resume: (app) => app.act('resume'),
  prune: (app) => app.askPrune(),
  remove: (app) => app.askRemoveSchedule(),
  confirm: (app) => app.confirmDialog(),
  dismiss: (app) => app.closeDialog(),
  nextField: (app) => app.nextField(),
};

patchBlessedWidths(blessed as unknown as { unicode: unknown });

/** Runs the TUI until the operator quits; restores the terminal on every way out. */
export async function runTui(options: TuiOptions): Promise<TuiResult> {
  const app = new TuiApp(options);
  options.onStart?.(app);
  const onCrash = (err: unknown) => app.crash(err);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const onSignal = (sig: NodeJS.Signals) => void app.quit(true, `stopped by ${sig}`);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    return await app.run();
  } finally {
    for (const s of signals) process.off(s, onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    app.destroy();
  }
}

export class TuiApp {
  readonly screen: blessed.Widgets.Screen;
  private readonly ws: Workspace;
  private readonly color: boolean;
  private view: ViewName = 'jobs';
  private jobs: JobEntry[] = [];
  private jobCursor = 0;
  private jobViews = new Map<string, JobView>();
  /** The job the dashboard shows. */
  private current: { jobId: string } | undefined;
  /** Event-log followers: of the job on the dashboard and of every job a process runs (the list's live view). */
  private readonly followers = new Map<string, EventFollower>();
  private diff: DiffState | undefined;
  private dialog: Dialog | undefined;
  private notice = '';
  private schedules: ScheduleRecord[] = [];
  private scheduleCursor = 0;
  /** The pid that fires the schedules (this one when the TUI owns the scheduler). */
  private schedulerPid: number | undefined;
  private dirty = true;
  private destroyed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private finish!: (r: TuiResult) => void;
  private readonly finished: Promise<TuiResult>;
  private result: TuiResult = {};
  private quitting = false;

  private readonly header: blessed.Widgets.BoxElement;
  private readonly progress: blessed.Widgets.BoxElement;
  private readonly counts: blessed.Widgets.BoxElement;
  private readonly throughput: blessed.Widgets.BoxElement;
  private readonly log: blessed.Widgets.BoxElement;
  private readonly list: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly popup: blessed.Widgets.BoxElement;

  constructor(private readonly options: TuiOptions) {
    this.ws = options.workspace;
    this.color = !options.noColor;
    this.finished = new Promise((r) => (this.finish = r));
    this.screen = blessed.screen({
      smartCSR: true,
      fullUnicode: true,
      autoPadding: true,
      warnings: false,
      title: 's3mig',
      ...(options.input ? { input: options.input } : {}),
      ...(options.output ? { output: options.output } : {}),
      terminal: process.env.TERM?.startsWith('screen') || process.env.TERM?.startsWith('tmux') ? process.env.TERM : 'xterm-256color',
    } as blessed.Widgets.IScreenOptions);
    const box = (opts: blessed.Widgets.BoxOptions) =>
      blessed.box({ parent: this.screen, tags: true, wrap: false, ...opts, ...(opts.border ? { style: { border: this.color ? { fg: 'cyan' } : {} } } : {}) });
    this.header = box({ top: 0, left: 0, height: 3, width: '100%' });
    this.progress = box({ border: 'line', label: ' Progress ' });
    this.counts = box({ border: 'line', label: ' Verdicts ' });
    this.throughput = box({ border: 'line', label: ' Throughput ' });
    this.log = box({ border: 'line', label: ' Log ' });
    this.list = box({ border: 'line' });
    this.footer = box({ bottom: 0, left: 0, height: 1, width: '100%' });
    this.popup = box({ border: 'line', hidden: true, top: 'center', left: 'center' });
    for (const el of [this.progress, this.counts, this.throughput, this.log]) dropLabelRedraw(el);
    this.screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg) => this.onKey(ch, key));
    this.screen.on('resize', () => this.requestRender());
  }

  // -------------------------------------------------------------------------------------------
  // Life cycle
  // -------------------------------------------------------------------------------------------

  async run(): Promise<TuiResult> {
    const fps = this.options.fps ?? 10;
    this.timers.push(setInterval(() => this.renderIfDirty(), Math.max(16, Math.round(1000 / fps))));
    this.timers.push(
      setInterval(() => {
        for (const id of this.followers.keys()) {
          const v = this.jobViews.get(id);
          if (v && v.state !== 'unknown' && !isTerminal(v.state)) {
            sampleThroughput(v, Date.now());
            this.requestRender();
          }
        }
      }, 1000),
    );
    this.timers.push(
      setInterval(() => {
        void this.refreshJobs();
        void this.refreshSchedules();
      }, 2000),
    );
    const initial = this.options.initial;
    if (initial) {
      this.watchInitial(initial);
    }
    await this.refreshJobs();
    await this.startScheduler();
    await this.refreshSchedules();
    this.renderIfDirty();
    return this.finished;
  }

  /** Shows the job this process started as soon as it has an id, and keeps its outcome for the exit. */
  private watchInitial(job: RunningJob): void {
    const show = (id: string) => {
      if (!this.current) this.openDashboard(id);
    };
    if (job.jobId) show(job.jobId);
    job.bus.subscribe((e) => {
      if (e.type === 'job:created') show(e.jobId);
    });
    job.done.then(
      (summary) => {
        this.result = { summary };
        void this.refreshJobs();
      },
      (error: unknown) => {
        this.result = { error };
        this.notify(`job stopped: ${oneLine(error)}`);
        void this.refreshJobs();
      },
    );
  }

  crash(err: unknown): void {
    this.destroy();
    process.stderr.write(`s3mig: the dashboard crashed: ${oneLine(err)}\n`);
    if (process.env.S3MIG_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exit(2);
  }

  /** Restores the terminal; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const t of this.timers) clearInterval(t);
    for (const f of this.followers.values()) void f.close();
    this.followers.clear();
    void this.diff?.view.close();
    this.screen.destroy();
  }

  /** Quits; a job this process runs is paused first (it checkpoints and can be resumed). */
  async quit(force = false, reason = 'paused: the dashboard was closed'): Promise<void> {
    const running = this.ws.anyRunning();
    const scheduled = this.ws.scheduledRuns();
    if ((running || scheduled.length > 0) && !force && !this.quitting) {
      const id = running?.jobId ?? '';
      const what = running
        ? [`Job ${id} is running in this window.`, 'Quitting pauses it at its next checkpoint;', `continue it later with: s3mig resume ${id}`]
        : [`${scheduled.length} scheduled run(s) are running in this window.`, 'Quitting pauses them at their next checkpoint;', 'the next scheduler (s3mig scheduler, or this TUI again) resumes them.'];
      this.openDialog({ kind: 'confirm', quit: true, title: ' Quit? ', dangerous: true, lines: [...what, '', '[y] quit   [n] stay'], onConfirm: () => void this.quit(true, reason) });
      return;
    }
    if (this.quitting) return;
    this.quitting = true;
    if (running) {
      this.notify(`pausing job ${running.jobId ?? ''} at its next checkpoint…`);
      this.renderIfDirty();
      running.pause(reason);
      await running.done.catch(() => undefined);
    }
    await this.ws.stopScheduler().catch(() => undefined);
    this.finish(this.result);
  }

  private requestRender(): void {
    this.dirty = true;
  }

  private notify(text: string): void {
    this.notice = text;
    this.requestRender();
  }

  // -------------------------------------------------------------------------------------------
  // Keys
  // -------------------------------------------------------------------------------------------

  private scope(): Scope {
    return this.dialog ? 'dialog' : this.view;
  }

  private onKey(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg): void {
    if (this.destroyed || key.full === 'return' || key.full === 'linefeed') return;
    const d = this.dialog;
    if (d && (d.kind === 'prompt' || (d.kind === 'export' && (d.field ?? 0) === 0)) && this.editField(d, ch, key)) return;
    if (d?.quit && key.full === 'C-c') {
      void this.quit(true);
      return;
    }
    const scope = this.scope();
    const binding = bindingsFor(scope).find((b) => b.keys.includes(key.full));
    if (!binding) return;
    if (this.notice && scope !== 'dialog') this.notice = '';
    try {
      const r = HANDLERS[binding.action](this, scope);
      if (r) r.catch((err: unknown) => this.notify(`error: ${oneLine(err)}`));
    } catch (err) {
      this.notify(`error: ${oneLine(err)}`);
    }
    this.requestRender();
  }

  /** Typing into a prompt or the export directory; true when the key was taken. */
  private editField(d: Dialog, ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg): boolean {
    if (key.full === 'enter' || key.full === 'escape' || key.full === 'tab' || key.full === 'S-tab' || key.full === 'C-c') return false;
    if (key.full === 'backspace') {
      d.value = [...(d.value ?? '')].slice(0, -1).join('');
    } else if (key.full === 'C-u') {
      d.value = '';
    } else if (ch && !key.ctrl && !key.meta && ch >= ' ' && ch !== '\x7f') {
      d.value = (d.value ?? '') + ch;
    } else {
      return false;
    }
    this.requestRender();
    return true;
  }

  pageSize(): number {
    return Math.max(1, this.listHeight() - 1);
  }

  cycleView(step: number): void {
    const i = VIEWS.indexOf(this.view);
    for (let n = 1; n <= VIEWS.length; n++) {
      const next = VIEWS[(i + step * n + VIEWS.length * 3) % VIEWS.length]!;
      if (next === 'jobs' || next === 'schedules' || (next === 'dashboard' && this.current) || (next === 'differences' && this.diff)) {
        this.view = next;
        return;
      }
    }
  }

  back(): void {
    this.view = this.view === 'differences' ? (this.current ? 'dashboard' : 'jobs') : 'jobs';
  }

  // -------------------------------------------------------------------------------------------
  // Schedules
  // -------------------------------------------------------------------------------------------

  /** Owns the scheduler when no other process does; its events ring the bell when something needs a look. */
  private async startScheduler(): Promise<void> {
    if (this.options.noScheduler) return;
    try {
      const { owner } = await this.ws.ownScheduler((e) => this.onSchedulerEvent(e), this.options.maxConcurrent);
      this.schedulerPid = owner;
    } catch (err) {
      this.notify(`scheduler: ${oneLine(err)}`);
    }
  }

  private onSchedulerEvent(e: SchedulerEvent): void {
    const bad = e.type === 'error' || (e.type === 'finished' && (e.state === 'failed' || e.state === 'canceled'));
    if (e.type === 'fired' || e.type === 'finished' || bad) {
      if (bad || e.type === 'finished') this.screen.program.bell();
      this.notify(`schedule ${e.scheduleId}: ${e.message}`);
      void this.refreshJobs();
    }
    void this.refreshSchedules();
  }

  private async refreshSchedules(): Promise<void> {
    if (this.destroyed) return;
    try {
      this.schedules = await this.ws.schedules();
      this.scheduleCursor = clamp(this.scheduleCursor, 0, this.schedules.length - 1);
      this.requestRender();
    } catch (err) {
      this.notify(`cannot list schedules: ${oneLine(err)}`);
    }
  }

  private selectedSchedule(): ScheduleRecord | undefined {
    return this.view === 'schedules' ? this.schedules[this.scheduleCursor] : undefined;
  }

  async toggleSchedulePaused(): Promise<void> {
    const s = this.selectedSchedule();
    if (!s) return;
    await this.ws.setSchedulePaused(s.id, !s.paused);
    this.notify(`schedule ${s.id} ${s.paused ? 'resumed (what fell due while paused is not caught up)' : 'paused'}`);
    await this.refreshSchedules();
  }

  askRemoveSchedule(): void {
    const s = this.selectedSchedule();
    if (!s) return;
    this.openDialog({
      kind: 'confirm',
      title: ' Remove? ',
      dangerous: true,
      lines: [`Remove schedule ${s.id}?`, `${s.source} → ${s.dest}`, 'A run in progress goes on; no new run starts.', '', '[y] remove   [n] keep'],
      onConfirm: () =>
        void this.ws.removeSchedule(s.id).then(
          () => {
            this.notify(`schedule ${s.id} removed`);
            void this.refreshSchedules();
          },
          (err: unknown) => this.notify(oneLine(err)),
        ),
    });
  }

  move(delta: number): void {
    if (this.view === 'schedules') {
      this.scheduleCursor = clamp(this.scheduleCursor + delta, 0, this.schedules.length - 1);
    } else if (this.view === 'jobs') {
      this.jobCursor = clamp(this.jobCursor + delta, 0, this.jobs.length - 1);
    } else if (this.view === 'differences' && this.diff) {
      const d = this.diff;
      d.cursor = clamp(d.cursor + delta, 0, d.filtered.length - 1);
      this.scrollTo(d);
    }
  }

  open(): void {
    if (this.view === 'schedules') {
      const s = this.selectedSchedule();
      const jobId = s && [...s.runs].reverse().find((r) => r.jobId)?.jobId;
      if (jobId) this.openDashboard(jobId);
      else if (s) this.notify(`schedule ${s.id} has not run yet`);
    } else if (this.view === 'jobs') {
      const entry = this.selectedJob();
      if (entry) this.openDashboard(entry.record.id);
    } else if (this.view === 'dashboard' && this.current) {
      const v = this.jobViews.get(this.current.jobId);
      const running = this.ws.running(this.current.jobId) || this.jobs.find((j) => j.record.id === this.current?.jobId)?.live;
      if (running && !v?.summary) this.notify('the differences can be browsed once the comparison has written its report');
      else void this.openDifferences(this.current.jobId);
    } else if (this.view === 'differences' && this.diff) {
      const row = this.rowAt(this.diff, this.diff.cursor);
      if (row) {
        const mark = this.diff.marks.get(row.key);
        this.openDialog({ kind: 'detail', title: ' Key ', lines: [...differenceDetail({ ...row, ...(mark ? { mark } : {}) }, mark), '', '[esc] close'] });
      }
    }
  }

  showHelp(scope: Scope): void {
    const rows = helpRows(scope === 'dialog' ? this.view : scope);
    const w = Math.max(...rows.map((r) => r[0].length), 6);
    this.openDialog({
      kind: 'help',
      title: ` Keys: ${scope === 'dialog' ? this.view : scope} `,
      lines: [...rows.map(([keys, desc, danger]) => `${pad(keys, w)}  ${desc}${danger ? '  (asks first)' : ''}`), '', '[esc] close'],
    });
  }

  // -------------------------------------------------------------------------------------------
  // Jobs
  // -------------------------------------------------------------------------------------------

  private selectedJob(): JobEntry | undefined {
    return this.jobs[this.jobCursor];
  }

  /** The job the keys act on: the selected one in the list, else the one on screen. */
  private targetJobId(): string | undefined {
    if (this.view === 'jobs') return this.selectedJob()?.record.id;
    return this.diff && this.view === 'differences' ? this.diff.jobId : this.current?.jobId;
  }

  private async refreshJobs(): Promise<void> {
    if (this.destroyed) return;
    try {
      const { jobs } = await this.ws.list();
      // Newest first, as the presenter sorts them.
      const selected = this.selectedJob()?.record.id;
      // The order of the presenter's table: newest first, then by id.
      this.jobs = jobs.sort((a, b) =>
        a.record.createdAt === b.record.createdAt ? (a.record.id < b.record.id ? 1 : -1) : a.record.createdAt < b.record.createdAt ? 1 : -1,
      );
      if (selected) this.jobCursor = Math.max(0, this.jobs.findIndex((j) => j.record.id === selected));
      this.jobCursor = clamp(this.jobCursor, 0, this.jobs.length - 1);
      this.syncFollowers();
      this.requestRender();
    } catch (err) {
      this.notify(`cannot list jobs: ${oneLine(err)}`);
    }
  }

  /** Builds a job's view from its event log, from the start, and keeps it live. */
  private follow(jobId: string): void {
    if (this.followers.has(jobId) || this.destroyed) return;
    const view = initialJobView(jobId);
    const entry = this.jobs.find((j) => j.record.id === jobId);
    if (entry) applyRecord(view, entry.record);
    this.jobViews.set(jobId, view);
    const follower = this.ws.follow(
      jobId,
      (events) => {
        const v = this.jobViews.get(jobId);
        if (!v) return;
        let finished = false;
        for (const e of events) {
          applyEvent(v, e);
          if (e.type === 'summary') finished = true;
        }
        if (finished) this.onJobFinished(jobId);
        this.requestRender();
      },
      (err) => this.notify(`event log of ${jobId}: ${oneLine(err)}`),
    );
    this.followers.set(jobId, follower);
  }

  /** Follows the jobs that run now and the one on screen; stops following the others. */
  private syncFollowers(): void {
    const keep = new Set(this.jobs.filter((j) => j.live).map((j) => j.record.id));
    if (this.current) keep.add(this.current.jobId);
    for (const id of keep) this.follow(id);
    for (const [id, f] of this.followers) {
      if (!keep.has(id)) {
        void f.close();
        this.followers.delete(id);
      }
    }
  }

  openDashboard(jobId: string): void {
    this.current = { jobId };
    this.follow(jobId);
    this.view = 'dashboard';
    this.requestRender();
  }

  /** A job's new summary: its differences file was rewritten. */
  private onJobFinished(jobId: string): void {
    void this.refreshJobs();
    if (this.diff?.jobId === jobId) void this.openDifferences(jobId, true);
  }

  /** Whether a process (this one or another) runs the job now (asked now: the list may be 2 s old). */
  private async isRunning(jobId: string): Promise<boolean> {
    if (this.ws.running(jobId)) return true;
    return (await this.ws.entry(jobId).catch(() => undefined))?.live === true;
  }

  /** p: pause a job that runs (here or in another process), resume one that is paused or was interrupted. */
  async pauseOrResume(): Promise<void> {
    const id = this.targetJobId();
    if (!id) return;
    // Fresh: the list is refreshed every 2 s, and a job may have stopped since.
    const entry = await this.ws.entry(id);
    const state = entry.record.state;
    if (entry.live) {
      this.notify(await this.ws.request(id, 'pause'));
    } else if (state === 'paused' || !isTerminal(state)) {
      await this.act('resume');
    } else {
      this.notify(`job ${id} is ${state}: nothing to pause or resume`);
    }
    void this.refreshJobs();
  }

  async askCancel(): Promise<void> {
    const id = this.targetJobId();
    if (!id) return;
    if (!(await this.isRunning(id))) {
      this.notify(`job ${id} is not running`);
      return;
    }
    this.openDialog({
      kind: 'confirm',
      title: ' Cancel the job? ',
      dangerous: true,
      lines: [`Cancel job ${id}?`, 'It stops at its next batch boundary; its checkpoints are kept.', '', '[y] cancel the job   [n] keep it running'],
      onConfirm: () => void this.ws.request(id, 'cancel').then((m) => this.notify(m), (err: unknown) => this.notify(oneLine(err))),
    });
  }

  askPrune(): void {
    const entry = this.view === 'jobs' ? this.selectedJob() : undefined;
    if (!entry) return;
    this.openDialog({
      kind: 'confirm',
      title: ' Prune? ',
      dangerous: true,
      lines: [`Delete the database (inventories) of job ${entry.record.id}?`, 'Its record, event log and reports stay; it can no longer be fixed or resumed.', '', '[y] prune   [n] keep'],
      onConfirm: () =>
        void this.ws.prune(entry.record.id).then(
          (r) => {
            this.notify(r.alreadyPruned ? `job ${r.id} was already pruned` : `job ${r.id} pruned (${(r.freedBytes / 1e6).toFixed(1)} MB freed)`);
            void this.refreshJobs();
          },
          (err: unknown) => this.notify(oneLine(err)),
        ),
    });
  }

  /** Resume, retry or re-verify in this process, then show the job's dashboard. */
  async act(action: 'resume' | 'retry' | 'reverify', keys?: string[]): Promise<void> {
    const id = this.targetJobId();
    if (!id) return;
    const stay = this.view === 'differences';
    if (await this.isRunning(id)) {
      if (action === 'retry') {
        void this.ws.queue(id, 'retry').then((m) => this.notify(m), (err: unknown) => this.notify(oneLine(err)));
      } else {
        this.notify(`job ${id} is running; ${action === 'resume' ? 'it needs no resume' : 're-verify once it has finished'}`);
      }
      return;
    }
    try {
      const job = await this.ws.act(id, action, keys ? { keys } : {});
      this.notify(`job ${id}: ${action === 'reverify' ? 're-verify' : action} started${keys ? ` (${keys.length} keys)` : ''}`);
      job.done.then(
        (s) => this.notify(`job ${id}: ${action === 'reverify' ? 're-verify' : action} done: ${outcomeWord(s)}`),
        (err: unknown) => this.notify(`job ${id}: ${oneLine(err)}`),
      );
      if (!stay) this.openDashboard(id);
      void this.refreshJobs();
    } catch (err) {
      this.notify(oneLine(err));
    }
  }

  reverify(): void {
    const keys = this.view === 'differences' && this.diff && this.diff.selected.size > 0 ? [...this.diff.selected.keys()] : undefined;
    void this.act('reverify', keys);
  }

  // -------------------------------------------------------------------------------------------
  // Differences
  // -------------------------------------------------------------------------------------------

  async openDifferences(jobId: string, reload = false): Promise<void> {
    const old = this.diff;
    if (old && old.jobId === jobId && !reload) {
      this.view = 'differences';
      return;
    }
    try {
      const [view, marks] = await Promise.all([this.ws.differences(jobId), this.ws.marks(jobId)]);
      const keep = old?.jobId === jobId ? old : undefined;
      const filterIndex = keep?.filterIndex ?? 0;
      const d: DiffState = {
        jobId,
        view,
        filterIndex,
        filtered: view.filter(FILTER_CYCLE[filterIndex]!),
        cursor: 0,
        top: 0,
        rows: [],
        windowStart: 0,
        selected: new Map(),
        marks,
        search: keep?.search ?? '',
        generation: (keep?.generation ?? 0) + 1,
      };
      if (keep) d.cursor = clamp(keep.cursor, 0, d.filtered.length - 1);
      await old?.view.close();
      this.diff = d;
      if (!reload) this.view = 'differences';
      this.scrollTo(d);
    } catch (err) {
      this.notify(`differences of job ${jobId}: ${oneLine(err)}`);
    }
  }

  private listHeight(): number {
    // Footer, status line and the list's border.
    return Math.max(1, (this.screen.height as number) - 1 - 1 - 2);
  }

  /** Keeps the cursor on screen and fetches the rows shown (stale fetches are dropped). */
  private scrollTo(d: DiffState): void {
    const h = this.listHeight();
    if (d.cursor < d.top) d.top = d.cursor;
    if (d.cursor >= d.top + h) d.top = d.cursor - h + 1;
    d.top = clamp(d.top, 0, Math.max(0, d.filtered.length - h));
    if (d.top >= d.windowStart && d.top + h <= d.windowStart + d.rows.length) return;
    const generation = ++d.generation;
    const start = Math.max(0, d.top - h);
    void d.filtered.rows(start, h * 3).then(
      (rows) => {
        if (d.generation !== generation || this.diff !== d) return;
        d.rows = rows;
        d.windowStart = start;
        this.requestRender();
      },
      (err: unknown) => this.notify(oneLine(err)),
    );
  }

  private rowAt(d: DiffState, i: number): DifferenceItem | undefined {
    return d.rows[i - d.windowStart];
  }

  toggleSelect(): void {
    const d = this.diff;
    if (this.view !== 'differences' || !d) return;
    const row = this.rowAt(d, d.cursor);
    if (!row) return;
    if (d.selected.has(row.key)) d.selected.delete(row.key);
    else d.selected.set(row.key, row.category);
    this.move(1);
  }

  cycleFilter(): void {
    const d = this.diff;
    if (!d) return;
    d.filterIndex = (d.filterIndex + 1) % FILTER_CYCLE.length;
    d.filtered = d.view.filter(FILTER_CYCLE[d.filterIndex]!);
    d.cursor = 0;
    d.top = 0;
    d.rows = [];
    d.windowStart = 0;
    this.scrollTo(d);
  }

  promptSearch(): void {
    if (!this.diff) return;
    this.openDialog({ kind: 'prompt', title: ' Search keys ', lines: ['Part of a key (case-insensitive); enter to search, esc to cancel'], value: this.diff.search, onConfirm: () => void this.runSearch(0) });
  }

  searchNext(): void {
    if (this.diff?.search) void this.runSearch(1);
  }

  private async runSearch(offset: number): Promise<void> {
    const d = this.diff;
    if (!d) return;
    if (this.dialog?.kind === 'prompt') d.search = this.dialog.value ?? '';
    if (!d.search) return;
    const at = await d.filtered.find(d.search, (d.cursor + offset) % Math.max(1, d.filtered.length), 1);
    if (this.diff !== d) return;
    if (at < 0) this.notify(`no key contains "${truncate(d.search, 40)}" in ${filterLabel(FILTER_CYCLE[d.filterIndex]!)}`);
    else {
      d.cursor = at;
      this.scrollTo(d);
      this.requestRender();
    }
  }

  /** The keys an action on "the selection" means: the selected ones, else the one under the cursor. */
  private selectionOrCursor(d: DiffState): string[] {
    if (d.selected.size > 0) return [...d.selected.keys()];
    const row = this.rowAt(d, d.cursor);
    return row ? [row.key] : [];
  }

  async markSelection(mark: ReviewMark): Promise<void> {
    const d = this.diff;
    if (!d || this.view !== 'differences') return;
    const keys = this.selectionOrCursor(d);
    if (keys.length === 0) return;
    // A key already marked so is cleared (the key toggles).
    const clear = keys.every((k) => d.marks.get(k) === mark);
    await this.ws.mark(d.jobId, keys, clear ? null : mark);
    for (const k of keys) {
      if (clear) d.marks.delete(k);
      else d.marks.set(k, mark);
    }
    this.notify(`${keys.length} key${keys.length === 1 ? '' : 's'} ${clear ? 'unmarked' : mark === 'ignore' ? 'marked ignore' : 'marked accept'} (shown in the next reports)`);
  }

  // -------------------------------------------------------------------------------------------
  // Fix and export dialogs
  // -------------------------------------------------------------------------------------------

  askFix(): void {
    const id = this.targetJobId();
    if (!id) return;
    const record = this.jobs.find((j) => j.record.id === id)?.record;
    const d = this.diff?.jobId === id && this.view === 'differences' ? this.diff : undefined;
    let keys: string[] | undefined;
    let copies: number;
    let deletes: number;
    if (d && d.selected.size > 0) {
      keys = [...d.selected.keys()];
      const cats = [...d.selected.values()];
      copies = cats.filter((c) => FIX_COPIES.includes(c)).length;
      deletes = cats.filter((c) => c === 'extra').length;
    } else {
      const counts = d?.view.counts() ?? record?.counts;
      copies = counts ? FIX_COPIES.reduce((n, c) => n + (counts[c] ?? 0), 0) : 0;
      deletes = counts?.extra ?? 0;
    }
    const canDelete = deletes > 0 && record?.complete !== false;
    this.openDialog({
      kind: 'fix',
      title: ' Fix ',
      lines: [],
      fix: { keys, copies, deletes },
      canDelete,
      deleteExtras: false,
      field: 0,
    });
  }

  private fixLines(dlg: Dialog): string[] {
    const f = dlg.fix!;
    const lines = fixDialogText({ copies: f.copies, deletes: dlg.deleteExtras ? f.deletes : 0, selection: f.keys !== undefined, total: f.keys?.length ?? f.copies + f.deletes });
    if (dlg.canDelete) lines.push('', `${dlg.deleteExtras ? '[x]' : '[ ]'} also delete the ${f.deletes} extra object${f.deletes === 1 ? '' : 's'} (space)`);
    lines.push('', '[y] fix   [n] cancel');
    return lines;
  }

  private runFix(dlg: Dialog): void {
    const id = this.targetJobId();
    const f = dlg.fix!;
    if (!id) return;
    const start = async () =>
      (await this.isRunning(id))
        ? void this.ws.queue(id, 'fix', { deleteExtras: dlg.deleteExtras === true }).then((m) => this.notify(m), (err: unknown) => this.notify(oneLine(err)))
        : void this.ws.act(id, 'fix', { ...(f.keys ? { keys: f.keys } : {}), deleteExtras: dlg.deleteExtras === true }).then(
        (job) => {
          this.notify(`job ${id}: fix started`);
          job.done.then(
            (s) => this.notify(`job ${id}: fix done: ${outcomeWord(s)}`),
            (err: unknown) => this.notify(`job ${id}: ${oneLine(err)}`),
          );
          if (this.diff) this.diff.selected.clear();
          void this.refreshJobs();
        },
        (err: unknown) => this.notify(oneLine(err)),
      );
    if (dlg.deleteExtras && f.deletes > 0) {
      // Deletion needs its own confirmation.
      this.openDialog({
        kind: 'confirm',
        title: ' Delete? ',
        dangerous: true,
        lines: [`Delete ${f.deletes} object${f.deletes === 1 ? '' : 's'} from the destination?`, 'They exist only there. This cannot be undone.', '', '[y] delete and fix   [n] cancel'],
        onConfirm: () => void start().catch((err: unknown) => this.notify(oneLine(err))),
      });
      return;
    }
    void start().catch((err: unknown) => this.notify(oneLine(err)));
  }

  askExport(): void {
    const id = this.targetJobId();
    if (!id) return;
    const record = this.jobs.find((j) => j.record.id === id)?.record;
    this.openDialog({
      kind: 'export',
      title: ' Export reports ',
      lines: [],
      value: record ? `${record.options.reportDir}-export` : './s3mig-export',
      formats: new Set(EXPORT_FORMATS),
      field: 0,
    });
  }

  private exportLines(dlg: Dialog): string[] {
    const names: Record<ExportFormat, string> = { summary: 'summary.json', ndjson: 'differences.ndjson', csv: 'differences.csv', fix: 'fix.sh + fix-plan.ndjson' };
    const field = dlg.field ?? 0;
    return [
      `${field === 0 ? '>' : ' '} Directory: ${dlg.value ?? ''}${field === 0 ? '▏' : ''}`,
      '',
      ...EXPORT_FORMATS.map((f, i) => `${field === i + 1 ? '>' : ' '} ${dlg.formats?.has(f) ? '[x]' : '[ ]'} ${names[f]}`),
      '',
      '[tab] next field   [space] toggle   [enter] export   [esc] cancel',
    ];
  }

  private runExport(dlg: Dialog): void {
    const id = this.targetJobId();
    if (!id) return;
    const raw = (dlg.value ?? '').trim();
    if (raw === '') {
      this.notify('export: give a directory');
      return;
    }
    const dir = isAbsolute(raw) ? raw : resolve(raw);
    void this.ws.export(id, dir, [...(dlg.formats ?? [])]).then(
      ({ job, files }) =>
        job.done.then(
          () => this.notify(`exported ${files().length} file${files().length === 1 ? '' : 's'} to ${dir}`),
          (err: unknown) => this.notify(`export: ${oneLine(err)}`),
        ),
      (err: unknown) => this.notify(`export: ${oneLine(err)}`),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Dialogs
  // -------------------------------------------------------------------------------------------

  private openDialog(d: Dialog): void {
    this.dialog = d;
    this.requestRender();
  }

  closeDialog(): void {
    this.dialog = undefined;
    this.requestRender();
  }

  confirmDialog(): void {
    const d = this.dialog;
    if (!d) return;
    this.dialog = undefined;
    if (d.kind === 'fix') this.runFix(d);
    else if (d.kind === 'export') this.runExport(d);
    else if (d.kind === 'prompt') {
      this.dialog = d; // runSearch reads the value
      d.onConfirm?.();
      this.dialog = undefined;
    } else d.onConfirm?.();
    this.requestRender();
  }

  toggleDialogOption(): void {
    const d = this.dialog;
    if (!d) return;
    if (d.kind === 'fix' && d.canDelete) d.deleteExtras = !d.deleteExtras;
    if (d.kind === 'export' && (d.field ?? 0) > 0) {
      const f = EXPORT_FORMATS[(d.field ?? 1) - 1]!;
      if (d.formats?.has(f)) d.formats.delete(f);
      else d.formats?.add(f);
    }
  }

  nextField(): void {
    const d = this.dialog;
    if (d?.kind === 'export') d.field = ((d.field ?? 0) + 1) % (EXPORT_FORMATS.length + 1);
  }

  // -------------------------------------------------------------------------------------------
  // Rendering
  // -------------------------------------------------------------------------------------------

  private paint(text: string, color: string): string {
    return this.color ? `{${color}-fg}${text}{/${color}-fg}` : text;
  }

  private renderIfDirty(): void {
    if (!this.dirty || this.destroyed) return;
    this.dirty = false;
    failpoint('tui:render');
    this.render();
    this.screen.render();
  }

  private render(): void {
    const W = this.screen.width as number;
    const H = this.screen.height as number;
    const dash = [this.progress, this.counts, this.throughput, this.log];
    for (const el of [...dash, this.list]) el.hide();
    if (this.view === 'dashboard' && this.current) this.renderDashboard(W, H);
    else if (this.view === 'differences' && this.diff) this.renderDifferences(W, H);
    else if (this.view === 'schedules') this.renderSchedules(W, H);
    else this.renderJobs(W, H);
    this.renderFooter(W);
    this.renderDialog(W, H);
  }

  /**
   * Moves and sizes an element only where that changes anything: blessed redraws the whole screen, outside
   * the throttle, for a labelled element it is told to resize.
   */
  private place(el: blessed.Widgets.BoxElement, pos: { top: number; left: number; width: number; height: number }): void {
    const current = el.position as unknown as Record<string, unknown>;
    for (const k of ['top', 'left', 'width', 'height'] as const) {
      if (current[k] !== pos[k]) el[k] = pos[k];
    }
  }

  private readonly labels = new Map<blessed.Widgets.BoxElement, string>();

  private label(el: blessed.Widgets.BoxElement, text: string): void {
    if (this.labels.get(el) === text) return;
    const first = !this.labels.has(el);
    this.labels.set(el, text);
    el.setLabel(text);
    if (first) dropLabelRedraw(el);
  }

  private setLines(el: blessed.Widgets.BoxElement, lines: string[]): void {
    el.setContent(lines.join('\n'));
  }

  private renderHeaderText(lines: string[], W: number): void {
    const title = `s3mig${this.options.title && W >= 100 ? ` ${this.options.title}` : ''}`;
    const first = lines[0] ?? '';
    const out = [`${this.paint(escapeTags(title), 'cyan')}  ${escapeTags(truncate(first, Math.max(0, W - title.length - 2)))}`, ...lines.slice(1).map((l) => escapeTags(truncate(l, W)))];
    this.setLines(this.header, out);
  }

  private renderJobs(W: number, H: number): void {
    this.renderHeaderText([`jobs of ${this.ws.stateDir}`, `${this.jobs.length} job${this.jobs.length === 1 ? '' : 's'}; enter opens one`], W);
    const items: JobListItem[] = this.jobs.map((j) => ({ record: j.record, live: j.live, ...(j.pid !== undefined ? { pid: j.pid } : {}), ...(this.jobViews.has(j.record.id) ? { view: this.jobViews.get(j.record.id)! } : {}) }));
    const inner = W - 2;
    this.renderTable(jobTable(items, Date.now(), inner), this.jobCursor, ' Jobs ', '  No jobs yet. Start one with: s3mig migrate SRC DST (or s3mig demo)', W, H);
  }

  private renderSchedules(W: number, H: number): void {
    const owner = this.schedulerPid === undefined ? 'no process fires them now (run s3mig scheduler --headless)' : this.schedulerPid === process.pid ? 'fired by this window' : `fired by pid ${this.schedulerPid}`;
    this.renderHeaderText([`schedules of ${this.ws.stateDir}`, `${this.schedules.length} schedule${this.schedules.length === 1 ? '' : 's'}; ${owner}`], W);
    const inner = W - 2;
    const runningIds = new Set(this.ws.scheduledRuns().map((r) => r.scheduleId));
    const items = this.schedules.map((record) => ({ record, running: runningIds.has(record.id) || record.runs.some((r) => r.state === 'running' || r.state === 'starting') }));
    const table = scheduleTable(items, new Date(), Intl.DateTimeFormat().resolvedOptions().timeZone, inner);
    this.renderTable(table, this.scheduleCursor, ' Schedules ', '  No schedules. Add one with: s3mig schedule add SRC DST --cron "30 2 * * *" --tz Europe/Berlin', W, H);
  }

  /** A table in the list box below the header, scrolled to keep the cursor's row on screen. */
  private renderTable(table: { header: string; lines: string[] }, cursor: number, title: string, empty: string, W: number, H: number): void {
    const inner = W - 2;
    const h = Math.max(1, H - 3 - 1 - 2);
    const top = clamp(cursor - h + 2, 0, Math.max(0, table.lines.length - (h - 1)));
    const lines = [this.bold(escapeTags(table.header))];
    table.lines.slice(top, top + h - 1).forEach((row, i) => {
      const line = escapeTags(pad(row, inner));
      lines.push(top + i === cursor ? `{inverse}${line}{/inverse}` : line);
    });
    if (table.lines.length === 0) lines.push('', empty);
    this.place(this.list, { top: 3, left: 0, width: W, height: H - 4 });
    this.label(this.list, title);
    this.setLines(this.list, lines);
    this.list.show();
  }

  private bold(s: string): string {
    return `{bold}${s}{/bold}`;
  }

  private renderDashboard(W: number, H: number): void {
    const v = this.jobViews.get(this.current!.jobId)!;
    const now = Date.now();
    this.renderHeaderText(headerLines(v, now, W), W);
    const gs = gauges(v);
    const countsW = W >= 100 ? 40 : 34;
    const progW = W - countsW;
    // Gauges, the ETA and the outcome; at least the eight rows of the verdict counts.
    const progH = Math.max(gs.length + 2, 8) + 2;
    const inner = progW - 2;
    const labelW = Math.min(12, Math.max(...gs.map((g) => g.label.length), 6));
    // The text gets about 26 cells first ('17.4 MiB / 17.4 MiB  100%'); the bar the rest, at most 40 %.
    const barW = Math.max(6, Math.min(Math.floor((inner - labelW - 2) * 0.4), inner - labelW - 2 - 26));
    const textW = Math.max(0, inner - labelW - barW - 2);
    const gaugeLines = gs.map((g) => `${escapeTags(pad(g.label, labelW))} ${this.paint(bar(g.ratio, barW, !this.color), g.ratio === 1 ? 'green' : 'cyan')} ${escapeTags(pad(g.text, textW))}`);
    gaugeLines.push(escapeTags(truncate(etaText(v), inner)));
    const outcome = outcomeLine(v);
    if (outcome) gaugeLines.push(this.paint(escapeTags(truncate(outcome, inner)), v.summary?.outcome === 'clean' ? 'green' : v.summary?.outcome === 'incomplete' ? 'red' : 'yellow'));
    this.place(this.progress, { top: 3, left: 0, width: progW, height: progH });
    this.setLines(this.progress, gaugeLines);
    const cw = countsW - 2;
    const countLines = countsRows(v).map(([label, n, bytes]) => escapeTags(columns([label, n, bytes], [13, 9, Math.max(0, cw - 24)], ['left', 'right', 'right'])));
    this.place(this.counts, { top: 3, left: progW, width: countsW, height: progH });
    this.setLines(this.counts, countLines);
    const spH = 4;
    const sw = W - 2 - 24;
    const last = (a: number[]) => a[a.length - 1] ?? 0;
    const t = v.throughput;
    const spark = [
      `${pad('objects/s', 10)} ${this.paint(sparkline(t.objectsPerSec, sw, !this.color), 'green')} ${pad(Math.round(last(t.objectsPerSec)).toLocaleString('en-US'), 12, 'right')}`,
      `${pad('MB/s', 10)} ${this.paint(sparkline(t.bytesPerSec.map((b) => b / 1e6), sw, !this.color), 'magenta')} ${pad((last(t.bytesPerSec) / 1e6).toFixed(1), 12, 'right')}`,
    ];
    this.place(this.throughput, { top: 3 + progH, left: 0, width: W, height: spH });
    this.setLines(this.throughput, spark);
    const logTop = 3 + progH + spH;
    const logH = Math.max(3, H - 1 - logTop);
    const entries = v.log.slice(-(logH - 2));
    const logLines = entries.map((e) => {
      const line = escapeTags(truncate(logLine(e), W - 2));
      return e.level === 'error' ? this.paint(line, 'red') : e.level === 'warn' ? this.paint(line, 'yellow') : line;
    });
    this.place(this.log, { top: logTop, left: 0, width: W, height: logH });
    this.setLines(this.log, logLines);
    for (const el of [this.progress, this.counts, this.throughput, this.log]) el.show();
  }

  private renderDifferences(W: number, H: number): void {
    const d = this.diff!;
    const filter = FILTER_CYCLE[d.filterIndex]!;
    const status = `differences of ${d.jobId}: ${filterLabel(filter)}, ${d.filtered.length.toLocaleString('en-US')} of ${d.view.total.toLocaleString('en-US')}`;
    const extra = [d.selected.size > 0 ? `${d.selected.size} selected` : '', d.search ? `search "${d.search}"` : ''].filter((x) => x !== '');
    this.renderHeaderText([status, extra.length > 0 ? extra.join('  ·  ') : 't filter  / search  space select  i/a mark  enter detail'], W);
    const h = this.listHeight();
    const inner = W - 2;
    const lines: string[] = [];
    for (let i = d.top; i < Math.min(d.filtered.length, d.top + h); i++) {
      const row = this.rowAt(d, i);
      if (!row) {
        lines.push('…');
        continue;
      }
      const mark = d.marks.get(row.key);
      const line = escapeTags(differenceLine({ ...row, ...(mark ? { mark } : {}) }, d.selected.has(row.key), inner));
      lines.push(i === d.cursor ? `{inverse}${line}{/inverse}` : line);
    }
    if (d.filtered.length === 0) lines.push('', `  No ${filterLabel(filter)} differences.`);
    this.place(this.list, { top: 2, left: 0, width: W, height: H - 3 });
    this.label(this.list, ` ${d.cursor + 1 > d.filtered.length ? 0 : d.cursor + 1}/${d.filtered.length} `);
    this.setLines(this.list, lines);
    this.list.show();
  }

  /** Whether `p` would pause (the job runs) or resume it, for the footer's words. */
  private footerContext(): { canPause?: boolean; hide?: ActionName[] } {
    if (this.view === 'schedules' && !this.dialog) {
      const s = this.selectedSchedule();
      return s ? { canPause: !s.paused } : { hide: ['pause', 'remove', 'open'] };
    }
    const id = this.targetJobId();
    if (!id) return {};
    const entry = this.jobs.find((j) => j.record.id === id);
    if (this.ws.running(id) || entry?.live) return { canPause: true };
    const state = entry?.record.state;
    if (state === 'paused') return { canPause: false, hide: ['cancel'] };
    // A finished job has nothing to pause or cancel.
    return state && isTerminal(state) ? { hide: ['pause', 'cancel'] } : { canPause: false, hide: ['cancel'] };
  }

  private renderFooter(W: number): void {
    const scope = this.scope();
    const text = this.notice ? truncate(this.notice, W) : footerText(scope, W, this.footerContext());
    this.footer.setContent(this.notice ? this.paint(escapeTags(text), 'yellow') : `{inverse}${escapeTags(pad(text, W))}{/inverse}`);
  }

  private renderDialog(W: number, H: number): void {
    const d = this.dialog;
    if (!d) {
      this.popup.hide();
      return;
    }
    const lines = d.kind === 'fix' ? this.fixLines(d) : d.kind === 'export' ? this.exportLines(d) : d.kind === 'prompt' ? [...d.lines, '', `/${d.value ?? ''}▏`] : d.lines;
    const width = Math.min(W - 2, Math.max(40, ...lines.map((l) => l.length + 4)));
    const height = Math.min(H - 2, lines.length + 2);
    this.place(this.popup, { width, height, top: Math.max(0, Math.floor((H - height) / 2)), left: Math.max(0, Math.floor((W - width) / 2)) });
    this.label(this.popup, d.title);
    this.popup.style.border = this.color ? { fg: d.dangerous ? 'red' : 'yellow' } : {};
    this.setLines(
      this.popup,
      lines.slice(0, height - 2).map((l) => escapeTags(truncate(l, width - 2))),
    );
    this.popup.show();
    this.popup.setFront();
  }
}

/**
 * blessed moves a box's label on every resize of the box with a full redraw of its own, outside the
 * throttle; our boxes never scroll, so the label's place never changes: that redraw is dropped.
 */
function dropLabelRedraw(el: blessed.Widgets.BoxElement): void {
  const own = el as unknown as { _labelResize?: () => void };
  if (own._labelResize) el.removeListener('resize', own._labelResize);
}

function clamp(n: number, lo: number, hi: number): number {
  if (hi < lo) return lo;
  return Math.min(hi, Math.max(lo, n));
}

function outcomeWord(s: Summary): string {
  return s.outcome === 'clean' ? 'clean' : s.outcome === 'incomplete' ? 'incomplete' : `${CATEGORIES.filter((c) => c !== 'matched' && c !== 'unverified').reduce((n, c) => n + (s.counts[c] ?? 0), 0)} differences left`;
}
