import { join } from 'node:path';
import type { CheckContext } from '../src/plugin.ts';

/** An env value that says something: unset and empty both mean "not set" to the tools. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The home directory tools will use: $HOME, else the passwd entry's (as docker's homedir lookup
 * does). Undefined on a random uid with neither.
 */
export function homeDir(ctx: CheckContext): string | undefined {
  return nonEmpty(ctx.env.HOME) ?? ctx.user.passwdHome;
}

/** Where docker, buildah, podman and kaniko keep config.json, and why there. */
export type DockerConfigLocation =
  | { readonly source: 'DOCKER_CONFIG'; readonly dir: string }
  | { readonly source: 'HOME'; readonly dir: string; readonly home: string };

export function dockerConfigLocation(ctx: CheckContext): DockerConfigLocation | undefined {
  const explicit = nonEmpty(ctx.options.dockerConfig) ?? nonEmpty(ctx.env.DOCKER_CONFIG);
  if (explicit !== undefined) return { source: 'DOCKER_CONFIG', dir: explicit };
  const home = homeDir(ctx);
  return home === undefined ? undefined : { source: 'HOME', dir: join(home, '.docker'), home };
}

/** Where builders spool temp files. */
export function tmpDir(ctx: CheckContext): string {
  return nonEmpty(ctx.env.TMPDIR) ?? '/tmp';
}

/** `env:` entries for a Tekton step or a Pod container; the same shape fits both. */
export function stepEnvYaml(vars: Readonly<Record<string, string>>): string {
  const entries = Object.entries(vars).map(([name, value]) => `  - name: ${name}\n    value: ${value}`);
  return ['env:', ...entries].join('\n');
}

/** `0o644` as `0644` and `0o1777` as `1777`, the way `stat -c %a` and chmod write them. */
export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
