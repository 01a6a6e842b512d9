import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../config/units.ts';
import type { Report, ReportEntry } from '../runner/report.ts';
import { paintStatus, STATUS_LABEL } from './style.ts';

/** One plain line per finished check: for logs (KFP, Tekton, CI), no cursor movement. */
export function formatCheckLine(entry: Pick<ReportEntry, 'id' | 'status' | 'message'>, style: ChalkInstance): string {
  return `${paintStatus(style, entry.status, STATUS_LABEL[entry.status])}  ${entry.id}  ${entry.message}`;
}

/** The summary and, for every warn and fail, its remediation block. */
export function renderSummary(report: Report, style: ChalkInstance): string {
  const { summary } = report;
  const parts = [
    paintStatus(style, 'pass', `${summary.pass} passed`),
    paintStatus(style, 'warn', `${summary.warn} warned`),
    paintStatus(style, 'fail', `${summary.fail} failed`),
    paintStatus(style, 'skip', `${summary.skip} skipped`),
  ];
  const lines = [
    '',
    `${parts.join(', ')} in ${formatDuration(report.durationMs)}${report.aborted ? ' (interrupted)' : ''}`,
  ];
  const problems = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
  for (const entry of problems) {
    lines.push(
      '',
      `${paintStatus(style, entry.status, STATUS_LABEL[entry.status])} ${style.bold(entry.id)}: ${entry.message}`,
    );
    for (const detail of entry.details) lines.push(`  ${style.dim('·')} ${detail}`);
    lines.push(...indent(entry.remediation ?? '', '  → ', '    '));
  }
  if (report.strict && summary.warn > 0 && summary.fail === 0)
    lines.push('', 'warnings fail this run because of --strict');
  return `${lines.join('\n')}\n`;
}

/** The whole text report when no live progress was shown (e.g. written to --output-file). */
export function renderText(report: Report, style: ChalkInstance): string {
  return report.checks.map((c) => formatCheckLine(c, style)).join('\n') + '\n' + renderSummary(report, style);
}

function indent(text: string, first: string, rest: string): string[] {
  if (text === '') return [];
  return text.split('\n').map((line, i) => (i === 0 ? first : rest) + line);
}
