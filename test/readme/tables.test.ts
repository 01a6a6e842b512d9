import { describe, expect, it } from 'vitest';
import { cells, isSeparatorRow, readme, tables } from '../support/readme.ts';

/**
 * Issue 14, "a README that is true": a pipe table renders only with exactly one delimiter row, right
 * after the header, and as many cells in every row as in the header (GitHub drops extra cells and
 * shows a second delimiter row as a row of dashes).
 */
describe('README tables', () => {
  const found = tables(readme());

  it('finds the tables', () => {
    expect(found.length).toBeGreaterThan(10);
  });

  it.each(found.map((t) => [t.line, t] as const))('the table at line %i renders', (line, table) => {
    const [header = '', separator = '', ...body] = table.rows;
    expect(isSeparatorRow(header), `README.md:${line}: the header is a delimiter row`).toBe(false);
    expect(isSeparatorRow(separator), `README.md:${line + 1}: no delimiter row after the header`).toBe(true);
    body.forEach((row, i) => {
      const at = `README.md:${line + 2 + i}`;
      expect(isSeparatorRow(row), `${at}: a second delimiter row`).toBe(false);
      expect(cells(row).length, `${at}: cells`).toBe(cells(header).length);
    });
    expect(cells(separator).length, `README.md:${line + 1}: delimiter cells`).toBe(cells(header).length);
  });
});

describe('the README table reader', () => {
  it('splits on unescaped pipes only, and sees a doubled delimiter row', () => {
    expect(cells('| `-o text\\|json` | a | b |')).toEqual(['`-o text\\|json`', 'a', 'b']);
    expect(isSeparatorRow('|---|:-:|---:|')).toBe(true);
    expect(isSeparatorRow('| 1.0 GiB | --- |')).toBe(false);
    const [table] = tables('text\n| a | b |\n|---|---|\n|---|---|\n| 1 | 2 |\n\nafter\n');
    expect(table?.rows.filter(isSeparatorRow)).toHaveLength(2);
    expect(tables('```\n| not | a table |\n```\n')).toEqual([]);
  });
});
