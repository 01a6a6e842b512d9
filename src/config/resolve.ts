import { isAbsolute, resolve } from 'node:path';
import type { CheckOptions } from '../context/types.ts';
import { ConfigError } from '../errors.ts';
import type { LoadedConfig } from './load.ts';
import * as v from 'valibot';
import { type ConfigFile, type ConfigKey, configFileSchema } from './schema.ts';
import { DEFAULTS } from './constants.ts';
import { parseDuration, parseSize } from './units.ts';

/** A value given on the command line or through an env var, and where it came from. */
export interface GivenValue {
  readonly value: unknown;
  /** `--timeout` or `env ECR_URI`: named in errors. */
  readonly origin: string;
}

export type GivenValues = Partial<Record<keyof ConfigFile, GivenValue>>;

/** Everything `preflight check` needs, merged and validated. */
export interface CheckRunConfig {
  readonly options: CheckOptions;
  readonly plugins: readonly string[];
  readonly only: readonly string[] | undefined;
  readonly skip: readonly string[];
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly scope: 'laptop' | 'pod';
  readonly strict: boolean;
  readonly configPath: string | undefined;
  /** One line each, for the user (stderr): what the config asked for that this run will not do. */
  readonly warnings: readonly string[];
}

export { DEFAULTS } from './constants.ts';

/**
 * Merge flags and env (already ranked by the CLI: a flag beats its env var) over the config file,
 * validating given values with the same schema as the file so both fail the same way.
 */
export function resolveCheckConfig(
  given: GivenValues,
  file: LoadedConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
): CheckRunConfig {
  const { values: fromFile, warnings } = trustedValues(file, given);
  const merged: ConfigFile = { ...fromFile, ...validateGiven(given) };
  // Paths in the file are relative to the file, paths on the command line to the cwd.
  const fileDir = file?.dir ?? process.cwd();
  const pathsFrom = (key: 'plugins' | 'manifests'): string[] => {
    const base = given[key] === undefined ? fileDir : process.cwd();
    return (merged[key] ?? []).map((p) => (isAbsolute(p) ? p : resolve(base, p)));
  };
  const modelDir =
    merged.modelDir === undefined
      ? undefined
      : resolve(given.modelDir === undefined ? fileDir : process.cwd(), merged.modelDir);
  const scope = merged.scope ?? DEFAULTS.scope;
  const options: CheckOptions = {
    ...opt('ecrUri', merged.ecrUri),
    ...opt('awsRegion', merged.awsRegion),
    ...opt('awsProfile', merged.awsProfile),
    ...opt('roleArn', merged.roleArn),
    ...opt('namespace', merged.namespace),
    ...opt('dockerConfig', merged.dockerConfig),
    ...opt('builder', merged.builder),
    ...opt('modelDir', modelDir),
    ...opt('modelSize', merged.modelSize === undefined ? undefined : toBytes(merged.modelSize)),
    manifests: pathsFrom('manifests'),
    images: merged.images ?? [],
    ...opt('baseImage', merged.baseImage),
    ...opt('builderImage', merged.builderImage),
    platform: merged.platform ?? DEFAULTS.platform,
    hasKfpToken: (env.KFP_TOKEN ?? '') !== '',
    serviceAccount: merged.serviceAccount ?? DEFAULTS.serviceAccount,
    secretName: merged.secretName ?? DEFAULTS.secretName,
    minValidityMs: parseDuration(merged.minValidity ?? DEFAULTS.minValidity) ?? 3 * 3600_000,
    ...opt('kubeContext', merged.kubeContext),
    gatedModel: merged.gatedModel ?? false,
    hfSecretName: merged.hfSecretName ?? DEFAULTS.hfSecretName,
    hfSecretKey: merged.hfSecretKey ?? DEFAULTS.hfSecretKey,
  };
  return {
    options,
    plugins: pathsFrom('plugins'),
    only: merged.only,
    skip: merged.skip ?? [],
    timeoutMs: parseDuration(merged.timeout ?? DEFAULTS.timeout) ?? 30_000,
    concurrency: merged.concurrency ?? DEFAULTS.concurrency,
    scope: scope === 'auto' ? ((env.KUBERNETES_SERVICE_HOST ?? '') === '' ? 'laptop' : 'pod') : scope,
    strict: merged.strict ?? false,
    configPath: file?.path,
    warnings,
  };
}

/**
 * An implicit ./preflight.yaml may set values but never chooses code to run: the working directory
 * may be a cloned repository, and a plugin would see the whole environment (AWS keys, KFP_TOKEN).
 * git never runs a cloned repository's hooks, and direnv asks first. Naming the file is consent.
 */
function trustedValues(file: LoadedConfig | undefined, given: GivenValues): { values: ConfigFile; warnings: string[] } {
  if (file === undefined) return { values: {}, warnings: [] };
  const { plugins, ...values } = file.values;
  if (file.explicit || plugins === undefined || plugins.length === 0) return { values: file.values, warnings: [] };
  // --plugin replaces the file's list anyway: nothing changes for the user, so nothing to say.
  const warnings =
    given.plugins === undefined
      ? [
          'ignoring plugins: in ./preflight.yaml (found implicitly, not named); to run them, pass --config preflight.yaml (or set PREFLIGHT_CONFIG) or --plugin FILE',
        ]
      : [];
  return { values, warnings };
}

function validateGiven(given: GivenValues): ConfigFile {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(configFileSchema.entries).filter(isConfigKey)) {
    const entry = given[key];
    if (entry === undefined) continue;
    const parsed = v.safeParse(configFileSchema.entries[key], entry.value);
    if (!parsed.success) {
      const message = parsed.issues[0].message;
      throw new ConfigError(`${entry.origin}: ${message} (got ${JSON.stringify(entry.value)})`, {
        hint: `fix the value of ${entry.origin}`,
      });
    }
    out[key] = parsed.output;
  }
  const result = v.safeParse(configFileSchema, out);
  if (!result.success) throw new ConfigError(`invalid options: ${result.issues[0].message}`);
  return result.output;
}

function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(configFileSchema.entries, key);
}

function toBytes(value: number | string): number {
  return typeof value === 'number' ? value : (parseSize(value) ?? 0);
}

/** `{key: value}` or `{}`: exactOptionalPropertyTypes forbids writing `key: undefined`. */
function opt<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  const out: Partial<Record<K, V>> = {};
  if (value !== undefined) out[key] = value;
  return out;
}
