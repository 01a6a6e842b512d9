import type { Finding } from '../diagnose/match.ts';

/** The diagnosis as text: each finding with its evidence, cause and fix; or that nothing was recognised. */
export function renderDiagnosis(
  result: { findings: readonly Finding[]; lines: number; source: string },
  format: 'text' | 'json',
): string {
  if (format === 'json')
    return `${JSON.stringify({ schemaVersion: 1, source: result.source, lines: result.lines, recognised: result.findings.length > 0, findings: result.findings }, null, 2)}\n`;
  if (result.findings.length === 0) return `no known failure recognised in ${result.source} (${result.lines} lines)\n`;
  const blocks = result.findings.map((f, i) =>
    [
      `${i + 1}. ${f.title} [${f.id}]`,
      `   line ${f.line}${f.count > 1 ? ` (and ${f.count - 1} more)` : ''}: ${f.evidence}`,
      `   cause: ${f.cause}`,
      `   fix:   ${f.fix}`,
    ].join('\n'),
  );
  return `${blocks.join('\n\n')}\n`;
}
