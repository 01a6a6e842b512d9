import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/cli.ts';
import { cells, isSeparatorRow, readme, tables } from '../support/readme.ts';

/** Issue 14: the README's Tekton section documents the Task as it is: every param (PREFLIGHT_IMAGE was missing), its default, the workspaces and the results. */
const taskSchema = v.object({
  spec: v.object({
    params: v.array(v.object({ name: v.string(), default: v.optional(v.union([v.string(), v.array(v.string())])) })),
    workspaces: v.array(v.object({ name: v.string() })),
    results: v.array(v.object({ name: v.string() })),
  }),
});
const task = v.parse(taskSchema, parse(readFileSync(join(REPO_ROOT, 'deploy', 'tekton', 'task.yaml'), 'utf8')));

/** The README from the Tekton paragraph up to the next bold paragraph heading. */
function tektonSection(): string {
  const text = readme();
  const start = text.indexOf('**Tekton** ([`deploy/tekton/task.yaml`]');
  const end = text.indexOf('\n**', start + 1);
  if (start < 0 || end < 0) throw new Error('README.md has no Tekton section');
  return text.slice(start, end);
}

function shownDefault(value: string | readonly string[] | undefined): string {
  if (value === undefined) return '(required)';
  return typeof value === 'string' ? `\`${value}\`` : `\`${JSON.stringify(value)}\``;
}

describe('README: the Tekton Task (issue 14)', () => {
  it('lists every param of deploy/tekton/task.yaml, in order, with its default', () => {
    const [table] = tables(tektonSection());
    const rows = (table?.rows ?? []).filter((row) => !isSeparatorRow(row)).map(cells);
    expect(rows[0]).toEqual(['param', 'default', 'meaning']);
    expect(rows.slice(1).map(([param, def]) => [param, def])).toEqual(
      task.spec.params.map((p) => [`\`${p.name}\``, shownDefault(p.default)]),
    );
    expect(task.spec.params.map((p) => p.name)).toContain('PREFLIGHT_IMAGE');
  });

  it('names every workspace and result', () => {
    const section = tektonSection();
    for (const { name } of [...task.spec.workspaces, ...task.spec.results]) expect(section).toContain(`\`${name}\``);
  });
});
