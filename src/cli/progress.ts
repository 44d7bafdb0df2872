// One self-rewriting progress line on a terminal's stderr while a headless job runs.
import type { EngineEvent } from '../engine/events.ts';
import { formatCount } from './format.ts';

export function progressPrinter(out: NodeJS.WritableStream): (e: EngineEvent) => void {
  const sides: Record<string, string> = {};
  let line = '';
  const show = (text: string) => {
    out.write(`\r${text.padEnd(line.length)}`);
    line = text;
  };
  return (e) => {
    switch (e.type) {
      case 'inventory:progress': {
        const pct = e.totalBytes > 0 ? ` ${Math.floor((100 * e.inputBytes) / e.totalBytes)}%` : '';
        sides[e.side] = `${e.side} ${formatCount(e.entries)}${pct}`;
        show(`inventory: ${Object.values(sides).join(' | ')}`);
        break;
      }
      case 'transfer:progress': {
        const pct = e.totalBytes > 0 ? ` ${Math.floor((100 * e.bytes) / e.totalBytes)}%` : '';
        const eta = e.etaSeconds !== undefined && !e.done ? `, ${Math.ceil(e.etaSeconds)} s left` : '';
        const verb = e.engine === 'mc' ? 'started' : 'done';
        show(`transfer: ${formatCount(e.objects)}/${formatCount(e.totalObjects)} ${verb}${pct}${e.failed > 0 ? `, ${formatCount(e.failed)} failed` : ''}${eta}`);
        break;
      }
      case 'compare:progress': {
        const pct = e.totalEntries > 0 ? Math.floor((100 * e.entries) / e.totalEntries) : 100;
        show(`compare: ${formatCount(e.keys)} keys ${pct}%, ${formatCount(e.rate)} entries/s`);
        break;
      }
      case 'summary':
        if (line) out.write(`\r${' '.repeat(line.length)}\r`);
        line = '';
        break;
      default:
        break;
    }
  };
}
