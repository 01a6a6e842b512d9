import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { checkCommandDefinition } from '../../src/cli/check-command.ts';
import { mintCommandDefinition } from '../../src/cli/mint-command.ts';
import { OPTIONS, type OptionSpec } from '../../src/cli/options.ts';
import { pushCommandDefinition } from '../../src/cli/push-command.ts';
import { readme, tables } from '../support/readme.ts';

/**
 * The README's flag tables against the option table: every flag a table names exists on its
 * command, every flag of the command is in its table, and a flag's env var is in its row's env
 * column. The README is written by hand; this keeps it from drifting from what --help says.
 */
const COMMANDS: readonly (readonly [string, () => Command])[] = [
  ['preflight check', checkCommandDefinition],
  ['preflight mint-creds', mintCommandDefinition],
  ['preflight push SOURCE DEST', pushCommandDefinition],
];

/** The first `| flag |` table after the command's heading. */
function flagTable(text: string, heading: string): string[][] {
  const at = text.indexOf(`### \`${heading}\``);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const headingLine = text.slice(0, at).split('\n').length;
  const table = tables(text).find((t) => t.line > headingLine && (t.rows[0] ?? '').startsWith('| flag |'));
  if (table === undefined) throw new Error(`no flag table under ${heading}`);
  return table.rows.map((row) =>
    row
      .replace(/\\\|/g, '/')
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

const ROWS: readonly OptionSpec[] = Object.values(OPTIONS);

const flagsIn = (cell: string): string[] => [...cell.matchAll(/`(-\w, )?(--[a-z][\w-]*)/g)].map((m) => m[2] ?? '');
const envsIn = (cell: string): string[] => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] ?? '');

describe('README flag tables match the option table', () => {
  it.each(COMMANDS)('%s', (heading, define) => {
    const command = define();
    const [header = [], , ...rows] = flagTable(readme(), heading);
    const envColumn = header.indexOf('env');
    const options = new Map(command.options.map((o) => [o.long ?? '', o]));
    const documented = new Set<string>();
    for (const row of rows) {
      const flags = flagsIn(row[0] ?? '');
      for (const flag of flags) {
        documented.add(flag);
        if (flag === '--debug') continue; // the program's own, on every command
        expect(options.has(flag), `${heading}: README names ${flag}, which the command does not take`).toBe(true);
        if (envColumn < 0) continue;
        // The env var of the flag's row in the option table, if any, is in the README row's env column.
        const env = ROWS.find((r) => r.flags === options.get(flag)?.flags)?.env;
        if (env !== undefined) expect(envsIn(row[envColumn] ?? ''), `${heading} ${flag}`).toContain(env);
      }
    }
    const undocumented = [...options.keys()].filter((flag) => !documented.has(flag));
    expect(undocumented, `${heading}: flags missing from the README table`).toEqual([]);
  });
});
