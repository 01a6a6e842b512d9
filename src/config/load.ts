import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import * as v from 'valibot';
import { ConfigError } from '../errors.ts';
import { type ConfigFile, configFileSchema } from './schema.ts';

/** A validated config file and where it came from (relative paths in it resolve against `dir`). */
export interface LoadedConfig {
  readonly path: string;
  readonly dir: string;
  readonly values: ConfigFile;
  /** Named with --config or PREFLIGHT_CONFIG, rather than found in the working directory. */
  readonly explicit: boolean;
}

/**
 * Read and validate preflight.yaml. `explicit` is whether the user named the file: a named file
 * that is missing is an error, the default `./preflight.yaml` is optional.
 */
export async function loadConfigFile(path: string, explicit: boolean): Promise<LoadedConfig | undefined> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    if (!explicit && error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw new ConfigError(
      `cannot read config file ${path}: ${error instanceof Error ? error.message : String(error)}`,
      {
        hint: 'check the --config path (or PREFLIGHT_CONFIG)',
      },
    );
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  const [yamlError] = doc.errors;
  if (yamlError) {
    const line = yamlError.linePos?.[0].line;
    throw new ConfigError(
      `${path}${line === undefined ? '' : `:${line}`}: invalid YAML: ${firstLine(yamlError.message)}`,
      {
        hint: 'fix the YAML syntax at that line',
      },
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = v.safeParse(configFileSchema, raw);
  if (!parsed.success) throw configIssue(path, parsed.issues);
  return { path: absolute, dir: dirname(absolute), values: parsed.output, explicit };
}

function configIssue(path: string, issues: readonly v.BaseIssue<unknown>[]): ConfigError {
  const [issue] = issues;
  if (issue === undefined) return new ConfigError(`${path}: invalid config`);
  const dotPath = v.getDotPath(issue);
  // A strict object reports a key it does not know as a value that should not exist.
  if (issue.type === 'strict_object' && issue.expected === 'never' && dotPath !== null) {
    return new ConfigError(`${path}: unknown key "${dotPath}"`, {
      hint: `remove it or fix its spelling; known keys: ${Object.keys(configFileSchema.entries).join(', ')}`,
    });
  }
  if (dotPath === null) {
    return new ConfigError(`${path}: the file must hold a mapping of keys to values`, {
      hint: 'write it as key: value lines, e.g. "builder: kaniko"',
    });
  }
  return new ConfigError(`${path}: key "${dotPath}": ${issue.message}`, {
    hint: `fix the value of "${dotPath}" in ${path}`,
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
