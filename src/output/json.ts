import type { Report } from '../runner/report.ts';

/** The JSON report: stable key order, one trailing newline; validated by schema/report.schema.json. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
