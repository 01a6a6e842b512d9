import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinChecks } from '../../checks/index.ts';
import { CHECK_ID_PATTERN } from '../../src/plugin.ts';
import { renderCatalogue, replaceCatalogue } from '../../scripts/catalogue.ts';

const checksDir = new URL('../../checks/', import.meta.url);

/** Files in checks/ that define a check: they default-export one. Helper files do not. */
function checkFiles(): string[] {
  return readdirSync(checksDir)
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
    .filter((f) => /^export default defineCheck\(/m.test(readFileSync(new URL(f, checksDir), 'utf8')));
}

describe('built-in check registry', () => {
  it('registers every check file, and every registered check has its own file named after its id', () => {
    expect(builtinChecks.map((c) => `${c.id}.ts`).sort()).toEqual(checkFiles().sort());
  });

  it('has unique, kebab-case ids', () => {
    const ids = builtinChecks.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(CHECK_ID_PATTERN);
  });

  it('check files import only the public plugin API (as a third-party plugin would)', () => {
    const allowed = /^(\.\.\/src\/plugin\.ts|\.\/[a-z0-9-]+\.ts|node:path|yaml)$/;
    for (const file of readdirSync(checksDir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, checksDir), 'utf8');
      for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        expect(specifier, `${file} imports ${specifier ?? ''}`).toMatch(allowed);
      }
      expect(source, `${file} must not use process`).not.toMatch(/\bprocess\./);
    }
  });

  it('the README check catalogue is not stale (run npm run docs)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(replaceCatalogue(readme, renderCatalogue())).toBe(readme);
  });
});
