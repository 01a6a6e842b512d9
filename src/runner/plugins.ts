import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.ts';
import type { Check } from '../plugin.ts';
import { resolvePreflightFor } from './resolve-preflight.ts';
import { checkShapeProblem, isCheck } from './validate.ts';

/** Checks of a run, and where each came from (`built-in` or the plugin path). */
export interface CheckSet {
  readonly checks: readonly Check[];
  readonly origins: ReadonlyMap<Check, string>;
}

/**
 * Import plugin modules and add their default export (a check, or an array of checks) after the
 * built-ins. Every failure names the plugin file: it is the one thing the user can act on.
 */
export async function loadChecks(builtins: readonly Check[], pluginPaths: readonly string[]): Promise<CheckSet> {
  const origins = new Map<Check, string>(builtins.map((c) => [c, 'built-in']));
  const byId = new Map<string, string>(builtins.map((c) => [c.id, 'built-in']));
  const checks = [...builtins];
  for (const path of pluginPaths) {
    const label = relative(process.cwd(), path) || path;
    for (const check of await importPlugin(path, label)) {
      const previous = byId.get(check.id);
      if (previous !== undefined) {
        throw new ConfigError(`plugin ${label}: check id "${check.id}" is already defined by ${previous}`, {
          hint: 'give the plugin check a unique id',
        });
      }
      byId.set(check.id, `plugin ${label}`);
      origins.set(check, `plugin ${label}`);
      checks.push(check);
    }
  }
  return { checks, origins };
}

async function importPlugin(path: string, label: string): Promise<Check[]> {
  const url = pathToFileURL(path).href;
  resolvePreflightFor(url);
  let mod: unknown;
  try {
    mod = await import(url);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`plugin ${label}: failed to import: ${message}`, {
      hint: 'check the path given with --plugin or plugins:, and that the module is valid ESM JavaScript',
    });
  }
  const exported = typeof mod === 'object' && mod !== null && 'default' in mod ? mod.default : undefined;
  const candidates: unknown[] = Array.isArray(exported) ? exported : [exported];
  return candidates.map((candidate, i) => {
    if (!isCheck(candidate)) {
      const where = candidates.length > 1 ? ` (export ${i})` : '';
      throw new ConfigError(`plugin ${label}${where}: not a check: ${checkShapeProblem(candidate) ?? 'wrong shape'}`, {
        hint: 'export default defineCheck({ id, title, scope, inspects, run }) from the plugin module',
      });
    }
    return candidate;
  });
}
