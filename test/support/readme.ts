import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

/** README.md as it is on disk. */
export function readme(): string {
  return readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
}

export interface Fence {
  /** The info string after the opening backticks (`sh`, `text`, `` for none). */
  readonly lang: string;
  readonly body: string;
  /** 1-based line of the opening backticks. */
  readonly line: number;
  /** The HTML comment on the line just above the fence (blank lines between allowed), without `<!--`/`-->`. */
  readonly marker: string | undefined;
}

export interface Table {
  /** 1-based line of the header row. */
  readonly line: number;
  readonly rows: readonly string[];
}

/** Every fenced code block, in order, with the comment that marks it. */
export function fences(text: string): Fence[] {
  const lines = text.split('\n');
  const out: Fence[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md:${i + 1}: a fence that never closes`);
    let above = i - 1;
    while (above >= 0 && (lines[above] ?? '').trim() === '') above--;
    const comment = /^<!--\s*(.*?)\s*-->$/.exec(lines[above] ?? '');
    out.push({ lang: open[1] ?? '', body: lines.slice(i + 1, end).join('\n'), line: i + 1, marker: comment?.[1] });
    i = end;
  }
  return out;
}

/** Every pipe table outside code fences: runs of consecutive lines that start with `|`. */
export function tables(text: string): Table[] {
  const out: Table[] = [];
  let inFence = false;
  let current: { line: number; rows: string[] } | undefined;
  text.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) inFence = !inFence;
    const row = !inFence && line.startsWith('|');
    if (row && current === undefined) current = { line: i + 1, rows: [] };
    if (row) current?.rows.push(line);
    else if (current !== undefined) {
      out.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) out.push(current);
  return out;
}

/** The cells of a table row: split on pipes that are not escaped (`\|` stays inside its cell). */
export function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** A delimiter row such as `| --- | :-: |`. */
export function isSeparatorRow(row: string): boolean {
  const parts = cells(row);
  return parts.length > 0 && parts.every((cell) => /^:?-+:?$/.test(cell));
}
