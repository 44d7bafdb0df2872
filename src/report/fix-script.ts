// The text of fix.sh: a bash script of mc commands that makes the destination match the source, one verdict at a time.
import type { FixAction } from '../core/fix-plan.ts';
import type { TargetRecord } from '../core/job-record.ts';
import type { Verdict } from '../core/reconcile.ts';
import { explain } from '../core/verdict.ts';
import { shellComment, shellQuote } from '../core/shell-quote.ts';

export interface FixScriptOptions {
  deleteExtras: boolean;
  complete: boolean;
}

export interface FixScriptHeaderOptions extends FixScriptOptions {
  jobId: string;
  source: TargetRecord;
  dest: TargetRecord;
  /** ALIAS/BUCKET[/PREFIX] to default to for a side, e.g. where that side was a saved inventory file. */
  liveSpec?: { source?: string; dest?: string };
}

type Side = 'source' | 'dest';
const VAR: Record<Side, 'SRC' | 'DST'> = { source: 'SRC', dest: 'DST' };

/** A `#` comment line; the text is made safe so the comment ends where the line does. */
function comment(text = ''): string {
  return text === '' ? '#\n' : `# ${shellComment(text)}\n`;
}

/** A command printing `message` (control characters escaped) on stderr. */
function stderrLine(message: string, indent = '  '): string {
  return `${indent}printf '%s\\n' ${shellQuote(shellComment(message))} >&2\n`;
}

/** A key as a reader should see it in a comment: its bash word, or JSON where bash cannot hold it. */
function keyForComment(key: string): string {
  return key.includes('\u0000') ? JSON.stringify(key) : shellQuote(key);
}

function describeTarget(target: TargetRecord): string {
  if (target.kind === 'live') return `${target.spec} (live bucket)`;
  return `${target.spec} (saved inventory file${target.path ? ` ${target.path}` : ''})`;
}

/** The default ALIAS/BUCKET[/PREFIX] for a side without its trailing slashes; '' when none is known. */
function defaultSpec(target: TargetRecord, live: string | undefined): string {
  const spec = live !== undefined && live !== '' ? live : target.kind === 'live' ? target.spec : '';
  return spec.replace(/\/+$/, '');
}

/** The assignment of SRC or DST and the checks that refuse to run with an unusable value. */
function targetBlock(side: Side, target: TargetRecord, live: string | undefined, jobId: string): string {
  const name = VAR[side];
  const label = side === 'source' ? 'source' : 'destination';
  const spec = defaultSpec(target, live);
  let out = '';
  if (spec === '') {
    out += comment(`The ${label} was a saved inventory file, so this script cannot know its bucket: set ${name}=alias/bucket[/prefix].`);
    out += `${name}=\${${name}:-}\n`;
  } else {
    out += `${name}=\${${name}:-${shellQuote(spec)}}\n`;
  }
  out += `while [ "\${${name}%/}" != "$${name}" ]; do ${name}=\${${name}%/}; done\n`;
  if (spec === '') {
    out += `if [ -z "$${name}" ]; then\n`;
    out += stderrLine(
      `s3mig fix: ${name} is not set. The ${label} of job ${jobId} was a saved inventory file, so this script cannot know ` +
        `its bucket: run it again with ${name}=alias/bucket[/prefix].`,
    );
    out += '  exit 2\nfi\n';
  }
  out += `case $${name} in\n  -*)\n`;
  out += stderrLine(`s3mig fix: ${name} starts with "-", which mc would read as an option: set ${name}=alias/bucket[/prefix].`, '    ');
  out += '    exit 2 ;;\nesac\n';
  out += `if ! [[ $${name} =~ ^[A-Za-z][A-Za-z0-9_-]*/[^/] ]]; then\n`;
  out += stderrLine(`s3mig fix: ${name} must look like alias/bucket[/prefix]; anything else mc would take for a local path.`);
  out += '  exit 2\nfi\n';
  return out;
}

/** The start of fix.sh: what it does, the SRC and DST targets with their checks, and the failure counter. */
export function fixScriptHeader(o: FixScriptHeaderOptions): string {
  const deletes = o.deleteExtras && o.complete;
  let out = '#!/usr/bin/env bash\n';
  out += comment(`s3mig fix script for job ${o.jobId}.`);
  out += comment(`Source:      ${describeTarget(o.source)}`);
  out += comment(`Destination: ${describeTarget(o.dest)}`);
  out += comment();
  out += comment('It copies every key missing from the destination, or whose size or ETag differs, with `mc cp`.');
  out += comment(
    deletes
      ? 'It deletes every key found only in the destination with `mc rm` (--delete-extras was given).'
      : 'Keys found only in the destination are listed as comments and never deleted.',
  );
  out += comment('Unverified keys (content not proven equal) and keys mc would rewrite are listed as comments only.');
  out += comment('It runs nothing but mc. Override the targets with SRC=alias/bucket[/prefix] and DST=alias/bucket[/prefix].');
  out += comment('Review it, then run it with: bash fix.sh');
  if (!o.complete) {
    out += comment();
    out += comment('The reconciliation run was incomplete: this plan covers only the keys it reached, and nothing is deleted.');
  }
  out += 'set -u\n';
  out += '# Parse the rest byte by byte, whatever the caller\'s locale.\n';
  out += 'export LC_ALL=C\n';
  out += targetBlock('source', o.source, o.liveSpec?.source, o.jobId);
  out += targetBlock('dest', o.dest, o.liveSpec?.dest, o.jobId);
  out += 'failed=0\n';
  return out;
}

/** The line(s) for one verdict, each ending in a newline; '' for a matched key. */
export function fixScriptLines(v: Verdict, action: FixAction | null, o: FixScriptOptions): string {
  const key = keyForComment(v.key);
  if (action && action.engine === 'native') {
    return comment(`needs the native engine (mc would rewrite this key): ${key} (${action.action}: ${action.reason})`);
  }
  if (action && action.action === 'copy') {
    const word = shellQuote(v.key);
    return `mc cp "$SRC/"${word} "$DST/"${word} || failed=$((failed+1))\n`;
  }
  // A delete is written only when it was asked for and the run complete, whatever the caller planned.
  if (action && action.action === 'delete' && o.deleteExtras && o.complete) {
    return `mc rm "$DST/"${shellQuote(v.key)} || failed=$((failed+1))\n`;
  }
  switch (v.category) {
    case 'matched':
      return '';
    case 'extra': {
      const why = !o.deleteExtras
        ? 'not deleted: --delete-extras was not given'
        : !o.complete
          ? 'not deleted: the run was incomplete'
          : 'not deleted';
      return comment(`extra, review before deleting: ${key} (${why})`);
    }
    case 'unverified':
      return comment(`unverified (not copied): ${key} (${explain(v.category, v.source, v.dest)})`);
    default:
      return comment(`${v.category}, no action planned: ${key} (${explain(v.category, v.source, v.dest)})`);
  }
}

/** The end of fix.sh: reports how many mc commands failed and exits 1 if any did, else 0. */
export function fixScriptFooter(): string {
  let out = "printf 's3mig fix: %d mc command(s) failed\\n' \"$failed\" >&2\n";
  out += 'if [ "$failed" -gt 0 ]; then\n  exit 1\nfi\n';
  out += 'exit 0\n';
  return out;
}
