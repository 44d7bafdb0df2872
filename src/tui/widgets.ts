// Small text widgets drawn as strings: gauge bars and sparklines (pure; blessed only places them).

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** A gauge bar of exactly `width` cells; an unknown ratio draws a dotted track. */
export function bar(ratio: number | undefined, width: number, ascii = false): string {
  if (width <= 0) return '';
  const [full, empty, unknown] = ascii ? ['#', '-', '.'] : ['█', '░', '·'];
  if (ratio === undefined || !Number.isFinite(ratio)) return unknown.repeat(width);
  const r = Math.min(1, Math.max(0, ratio));
  const n = Math.round(r * width);
  return full.repeat(n) + empty.repeat(width - n);
}

/** The last `width` values as a sparkline scaled to their maximum; padded on the left to `width` cells. */
export function sparkline(values: readonly number[], width: number, ascii = false): string {
  if (width <= 0) return '';
  const tail = values.slice(-width);
  const max = Math.max(0, ...tail);
  const blocks = ascii ? ['_', '.', '-', '=', '+', '*', '#', '@'] : BLOCKS;
  const cells = tail.map((v) => (max <= 0 || v <= 0 ? ' ' : blocks[Math.min(blocks.length - 1, Math.floor((v / max) * (blocks.length - 1) + 0.5))]!));
  return ' '.repeat(width - cells.length) + cells.join('');
}
