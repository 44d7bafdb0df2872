// The reports a comparison streams to disk (differences.ndjson/.csv, fix.sh, fix-plan.ndjson), resumable from recorded offsets.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Verdict } from '../core/reconcile.ts';
import type { FixAction } from '../core/fix-plan.ts';
import { csvRow } from '../core/csv.ts';
import type { ReviewMark, ReviewMarkCounts } from '../core/summary.ts';
import { CSV_COLUMNS, csvRecordOf, rowOf } from './differences.ts';
import { fixScriptFooter, fixScriptLines, type FixScriptOptions } from './fix-script.ts';
import { StagedFile } from './staged-file.ts';

export interface ReportFiles {
  dir: string;
  summary: string;
  differencesNdjson: string;
  differencesCsv: string;
  fixScript: string;
  fixPlan: string;
}

export function reportFilesIn(dir: string): ReportFiles {
  return {
    dir,
    summary: join(dir, 'summary.json'),
    differencesNdjson: join(dir, 'differences.ndjson'),
    differencesCsv: join(dir, 'differences.csv'),
    fixScript: join(dir, 'fix.sh'),
    fixPlan: join(dir, 'fix-plan.ndjson'),
  };
}

const STREAMED = ['differencesNdjson', 'differencesCsv', 'fixScript', 'fixPlan'] as const;
type Streamed = (typeof STREAMED)[number];
export type ReportOffsets = Record<Streamed, number>;

const exists = (p: string) => access(p).then(() => true, () => false);

/** The review marks a report carries: the marks in force, and how many were written before a resume. */
export interface ReportMarks {
  marks: ReadonlyMap<string, ReviewMark>;
  /** Marks already in the rows up to a checkpoint (a resumed report). */
  counted?: ReviewMarkCounts;
}

export class ReportSet {
  /** Review marks written into the rows so far. */
  readonly reviewMarks: ReviewMarkCounts;
  private readonly marks: ReadonlyMap<string, ReviewMark>;

  private constructor(
    readonly files: ReportFiles,
    private readonly out: Record<Streamed, StagedFile>,
    private readonly script: FixScriptOptions,
    marks: ReportMarks | undefined,
  ) {
    this.marks = marks?.marks ?? new Map();
    this.reviewMarks = { ignore: marks?.counted?.ignore ?? 0, accept: marks?.counted?.accept ?? 0 };
  }

  /** Starts every file afresh with its header. */
  static async create(files: ReportFiles, script: FixScriptOptions, fixScriptHeader: string, marks?: ReportMarks): Promise<ReportSet> {
    const out = {} as Record<Streamed, StagedFile>;
    for (const k of STREAMED) out[k] = await StagedFile.create(files[k]);
    out.differencesCsv.write(csvRow(CSV_COLUMNS));
    out.fixScript.write(fixScriptHeader);
    return new ReportSet(files, out, script, marks);
  }

  /** Reopens the files at a checkpoint's offsets; undefined when a file is gone or shorter (start afresh). */
  static async resume(files: ReportFiles, script: FixScriptOptions, offsets: ReportOffsets, marks?: ReportMarks): Promise<ReportSet | undefined> {
    const out = {} as Record<Streamed, StagedFile>;
    for (const k of STREAMED) {
      const f = await StagedFile.resume(files[k], offsets[k]);
      if (!f) {
        for (const o of Object.values(out)) o.abort();
        return undefined;
      }
      out[k] = f;
    }
    return new ReportSet(files, out, script, marks);
  }

  /** Whether the streamed files were already moved into place (a report phase that was interrupted after it). */
  static async committed(files: ReportFiles): Promise<boolean> {
    for (const k of STREAMED) {
      if (await exists(StagedFile.partialOf(files[k]))) return false;
      if (!(await exists(files[k]))) return false;
    }
    return true;
  }

  /** Writes one non-matched verdict everywhere it belongs, with its review mark; resolves at once unless a buffer is full. */
  write(v: Verdict, action: FixAction | null): Promise<void> | undefined {
    const mark = this.marks.size > 0 ? this.marks.get(v.key) : undefined;
    if (mark) this.reviewMarks[mark]++;
    const row = rowOf(v, mark);
    let full = !this.out.differencesNdjson.write(JSON.stringify(row) + '\n');
    full = !this.out.differencesCsv.write(csvRecordOf(row)) || full;
    const lines = fixScriptLines(v, action, this.script);
    if (lines) full = !this.out.fixScript.write(lines) || full;
    if (action) full = !this.out.fixPlan.write(JSON.stringify(action) + '\n') || full;
    return full ? this.drained() : undefined;
  }

  private async drained(): Promise<void> {
    await Promise.all(STREAMED.map((k) => this.out[k].drained()));
  }

  /** Offsets of what has reached the files, for a checkpoint. */
  async offsets(): Promise<ReportOffsets> {
    const o = {} as ReportOffsets;
    for (const k of STREAMED) o[k] = await this.out[k].flushed();
    return o;
  }

  /** Closes the files without their endings (a pause); a later resume continues them. */
  async suspend(): Promise<void> {
    await Promise.all(STREAMED.map((k) => this.out[k].close()));
  }

  /** Writes the endings, then moves every file into place; `beforeRename` runs in between. */
  async commit(beforeRename: () => void = () => undefined): Promise<void> {
    this.out.fixScript.write(fixScriptFooter());
    await this.suspend();
    beforeRename();
    for (const k of STREAMED) await this.out[k].commitClosed();
  }

  abort(): void {
    for (const k of STREAMED) this.out[k].abort();
  }
}
