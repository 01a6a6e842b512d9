import type { Report, ReportEntry } from '../runner/report.ts';

/**
 * JUnit XML as CI systems read it: a fail is a <failure>, a skip a <skipped>; a warning is neither,
 * so it is kept as a `status` property plus system-out, visible without failing the build.
 */
export function renderJunit(report: Report): string {
  const { summary } = report;
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  const cases = report.checks.map((c) => testcase(c, seconds(c.durationMs)));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="preflight" tests="${summary.total}" failures="${summary.fail}" skipped="${summary.skip}" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="preflight check" tests="${summary.total}" failures="${summary.fail}" errors="0" skipped="${summary.skip}" time="${seconds(report.durationMs)}" timestamp="${report.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function testcase(entry: ReportEntry, time: string): string {
  const open = `    <testcase classname="preflight.${attr(entry.scope)}" name="${attr(`${entry.id}: ${entry.title}`)}" time="${time}"`;
  const properties = [
    '      <properties>',
    `        <property name="status" value="${entry.status}"/>`,
    `        <property name="origin" value="${attr(entry.origin)}"/>`,
    '      </properties>',
  ];
  const out = (text: string): string => `      <system-out>${text_(text)}</system-out>`;
  const body = entry.details.length > 0 ? entry.details.join('\n') : '';
  switch (entry.status) {
    case 'pass':
      return [`${open}>`, ...properties, out([entry.message, body].filter(Boolean).join('\n')), '    </testcase>'].join(
        '\n',
      );
    case 'skip':
      return [`${open}>`, ...properties, `      <skipped message="${attr(entry.message)}"/>`, '    </testcase>'].join(
        '\n',
      );
    case 'warn':
      return [
        `${open}>`,
        ...properties,
        out([`WARN: ${entry.message}`, entry.remediation ?? '', body].filter(Boolean).join('\n')),
        '    </testcase>',
      ].join('\n');
    case 'fail':
      return [
        `${open}>`,
        ...properties,
        `      <failure message="${attr(entry.message)}" type="fail">${text_([entry.remediation ?? '', body].filter(Boolean).join('\n'))}</failure>`,
        '    </testcase>',
      ].join('\n');
  }
}

// XML 1.0 cannot carry most control characters at all, escaped or not.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function text_(value: string): string {
  return value.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text_(value).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
