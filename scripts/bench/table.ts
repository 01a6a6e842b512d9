// Benchmark tables: one markdown row per run, with throughput and the ratios the issue asks for.
import { formatBytes, parseSize } from '../../src/config/units.ts';
import type { Measurement } from './measure.ts';

export interface BenchRow {
  readonly total: number;
  readonly tool: string;
  readonly source: string;
  readonly m: Measurement;
}

export function parseSizes(list: string): number[] {
  return list.split(',').map((text) => {
    const size = parseSize(text.trim());
    if (size === undefined || size <= 0) throw new Error(`not a size: ${text}`);
    return size;
  });
}

const HEADER =
  '| data | tool | run | wall | MB/s | vs curl | vs peer | peak RSS | temp disk |\n|---|---|---|---|---|---|---|---|---|';

export function renderTable(rows: readonly BenchRow[]): string {
  return [HEADER, ...rows.map((row) => formatRow(row, rows))].join('\n');
}

export function formatRow(row: BenchRow, all: readonly BenchRow[]): string {
  const curl = all.find((r) => r.total === row.total && r.tool.startsWith('curl'));
  // The peer: the other tool's row for the same data and run (skopeo, umoci…).
  const skopeo = all.find(
    (r) =>
      r.total === row.total && r.source === row.source && !r.tool.startsWith('preflight') && !r.tool.startsWith('curl'),
  );
  const mbps = row.total / 1e6 / (row.m.wallMs / 1000);
  const ratio = (other: BenchRow | undefined): string =>
    other === undefined || other === row ? '' : `${(row.m.wallMs / other.m.wallMs).toFixed(2)}×`;
  return `| ${formatBytes(row.total)} | ${row.tool} | ${row.source} | ${(row.m.wallMs / 1000).toFixed(row.m.wallMs < 1000 ? 2 : 1)} s | ${mbps.toFixed(0)} | ${ratio(curl)} | ${ratio(skopeo)} | ${formatBytes(row.m.peakRss)} | ${formatBytes(row.m.peakTemp)} |`;
}
