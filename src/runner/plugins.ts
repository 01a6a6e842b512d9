import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.ts';
import { CHECK_ID_PATTERN, type Check } from '../plugin.ts';

/** Checks of a run, and where each came from (`built-in` or the plugin path). */
export interface CheckSet {
  readonly checks: readonly Check[];
  readonly origins: ReadonlyMap<Check, string>;
}

const SCOPES = new Set(['laptop', 'pod', 'any']);

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
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(path).href);
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
      throw new ConfigError(`plugin ${label}${where}: not a check: ${shapeProblem(candidate) ?? 'wrong shape'}`, {
        hint: 'export default defineCheck({ id, title, scope, inspects, run }) from the plugin module',
      });
    }
    return candidate;
  });
}

function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'no default export of a check object';
  const fields = new Map<string, unknown>(Object.entries(value));
  const id = fields.get('id');
  if (typeof id !== 'string' || !CHECK_ID_PATTERN.test(id)) return `"id" must be a kebab-case string (got ${JSON.stringify(id)})`;
  for (const key of ['title', 'inspects']) {
    const field = fields.get(key);
    if (typeof field !== 'string' || field === '') return `"${key}" must be a non-empty string`;
  }
  const scope = fields.get('scope');
  if (typeof scope !== 'string' || !SCOPES.has(scope)) return `"scope" must be laptop, pod or any (got ${JSON.stringify(scope)})`;
  if (typeof fields.get('run') !== 'function') return '"run" must be an async function (ctx) => result';
  const appliesTo = fields.get('appliesTo');
  if (appliesTo !== undefined && typeof appliesTo !== 'function') return '"appliesTo" must be a function when given';
  return undefined;
}

// The fields were verified one by one in shapeProblem; this only tells the compiler.
function isCheck(value: unknown): value is Check {
  return shapeProblem(value) === undefined;
}
