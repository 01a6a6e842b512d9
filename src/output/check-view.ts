import { ProcessOutput } from 'listr2';
import type { Check } from '../plugin.ts';
import type { Report } from '../runner/report.ts';
import type { RunEvent, RunReport } from '../runner/run.ts';
import type { CheckSet } from '../runner/plugins.ts';
import { PRIVATE_FILE, writeFileAtomic } from '../util/atomic-file.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { createListrProgress } from './listr-progress.ts';
import { createStyle } from './style.ts';
import type { Terminal } from './terminal.ts';
import { formatCheckLine, renderSummary, renderText } from './text.ts';

/** The report formats of `check` (its -o). */
export type OutputFormat = 'text' | 'json' | 'junit';

export interface CheckViewOptions {
  readonly format: OutputFormat;
  readonly outputFile: string | undefined;
}

/** What the user sees of a check run: live progress while it runs, then the report. */
export interface CheckView {
  onEvent(event: RunEvent): void;
  finish(run: RunReport, report: Report): Promise<void>;
}

/**
 * Live view on stdout when stdout is not reserved for a JSON/JUnit document: listr2 on a terminal,
 * one plain line per finished check in logs (KFP, Tekton, CI).
 */
export function createCheckView(term: Terminal, checks: readonly Check[], options: CheckViewOptions): CheckView {
  const documentOnStdout = options.format !== 'text' && options.outputFile === undefined;
  const listr =
    !documentOnStdout && term.interactive
      ? createListrProgress(checks, {
          renderer: 'default',
          processOutput: new ProcessOutput(term.io.stdout, term.io.stderr),
        })
      : undefined;
  const plain = !documentOnStdout && listr === undefined;
  const printed = new Set<string>();
  return {
    onEvent(event) {
      listr?.onEvent(event);
      if (plain && event.type === 'finish') {
        const { result, check } = event.outcome;
        const message = result.status === 'skip' ? result.reason : result.message;
        term.out(`${formatCheckLine({ id: check.id, status: result.status, message }, term.style)}\n`);
        printed.add(check.id);
      }
    },
    async finish(run, report) {
      await listr?.end(run);
      if (plain) {
        // Checks that never started (Ctrl-C) produced no finish event: list them too.
        for (const entry of report.checks.filter((c) => !printed.has(c.id)))
          term.out(`${formatCheckLine(entry, term.style)}\n`);
      }
      if (!documentOnStdout) term.out(renderSummary(report, term.style));
      const document = renderDocument(report, options.format);
      // Private: the report names images, accounts and namespaces.
      if (options.outputFile !== undefined) await writeFileAtomic(options.outputFile, document, PRIVATE_FILE);
      else if (documentOnStdout) term.out(document);
    },
  };
}

function renderDocument(report: Report, format: OutputFormat): string {
  if (format === 'json') return renderJson(report);
  if (format === 'junit') return renderJunit(report);
  // Text goes to a document only through --output-file: a file never gets colour codes.
  return renderText(report, createStyle(false, {}));
}

/** `preflight check --list`. */
export function renderCheckList(set: CheckSet, format: OutputFormat): string {
  const rows = set.checks.map((c) => ({
    id: c.id,
    title: c.title,
    scope: c.scope,
    inspects: c.inspects,
    origin: set.origins.get(c) ?? 'built-in',
  }));
  if (format === 'json') return `${JSON.stringify({ schemaVersion: 1, checks: rows }, null, 2)}\n`;
  const width = Math.max(...rows.map((r) => r.id.length), 2);
  const lines = rows.map(
    (r) =>
      `${r.id.padEnd(width)}  ${r.scope.padEnd(6)}  ${r.title}\n${' '.repeat(width + 10)}inspects: ${r.inspects}${r.origin === 'built-in' ? '' : ` (${r.origin})`}`,
  );
  return `${'ID'.padEnd(width)}  SCOPE   TITLE\n${lines.join('\n')}\n`;
}
