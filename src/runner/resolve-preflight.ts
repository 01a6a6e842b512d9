import module from 'node:module';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The plugin entry URLs asked for, and every module resolved from one of them (their own helpers). */
interface PluginGraph {
  readonly entries: Set<string>;
  readonly modules: Set<string>;
}

let graph: PluginGraph | undefined;

/**
 * Make `import … from 'preflight'` in the plugin at `url`, and in the modules it imports, resolve to
 * the public API of this very installation, wherever the plugin file lives: a team's repository has
 * no node_modules with preflight in it, and the name is taken by an unrelated package on npm. The
 * plugin then shares the built-ins' module instance (one `defineCheck`, one set of helpers).
 *
 * A synchronous in-thread hook (`module.registerHooks`, Node 22.15+): no loader worker, registered
 * once, the first time a plugin is about to load. Only the plugins' own module graph is affected;
 * everything else resolves as Node would.
 */
export function resolvePreflightFor(url: string): void {
  graph ??= registerHook();
  graph.entries.add(url);
}

function registerHook(): PluginGraph {
  const api = publicApiUrl();
  // The bare name the README uses, and the package's own name (scoped, if it is renamed), so both
  // give this installation whatever the plugin folder's node_modules hold.
  const names = new Set(['preflight', ...ownPackageName()]);
  const entries = new Set<string>();
  const modules = new Set<string>();
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const fromPlugin = context.parentURL !== undefined && modules.has(context.parentURL);
      if (fromPlugin && names.has(specifier)) return { url: api, shortCircuit: true };
      const resolved = nextResolve(specifier, context);
      // The resolved URL, not the one asked for: Node follows symlinks, and imports name the real file.
      if ((fromPlugin || entries.has(specifier)) && resolved.url.startsWith('file:')) modules.add(resolved.url);
      return resolved;
    },
  });
  return { entries, modules };
}

/**
 * `plugin.js` beside this module's folder: dist/src/plugin.js (the package's `exports` entry) when
 * built, src/plugin.ts when run from source. Derived from where this file is, not from the package
 * name, so a rename or a global install cannot point it elsewhere.
 */
function publicApiUrl(): string {
  return new URL(`../plugin${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
}

function ownPackageName(): string[] {
  const path = module.findPackageJSON(import.meta.url);
  if (path === undefined) return [];
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const name = typeof parsed === 'object' && parsed !== null && 'name' in parsed ? parsed.name : undefined;
  return typeof name === 'string' ? [name] : [];
}
