import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { type ConfigFile, configFileSchema } from './schema.ts';

/** A validated config file and where it came from (relative paths in it resolve against `dir`). */
export interface LoadedConfig {
  readonly path: string;
  readonly dir: string;
  readonly values: ConfigFile;
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
    throw new ConfigError(`cannot read config file ${path}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'check the --config path (or PREFLIGHT_CONFIG)',
    });
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  const [yamlError] = doc.errors;
  if (yamlError) {
    const line = yamlError.linePos?.[0].line;
    throw new ConfigError(`${path}${line === undefined ? '' : `:${line}`}: invalid YAML: ${firstLine(yamlError.message)}`, {
      hint: 'fix the YAML syntax at that line',
    });
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw configIssue(path, parsed.error);
  return { path: absolute, dir: dirname(absolute), values: parsed.data };
}

function configIssue(path: string, error: z.ZodError): ConfigError {
  const [issue] = error.issues;
  if (issue === undefined) return new ConfigError(`${path}: invalid config`);
  if (issue.code === 'unrecognized_keys') {
    const key = [...issue.path, ...issue.keys].join('.');
    return new ConfigError(`${path}: unknown key "${key}"`, {
      hint: `remove it or fix its spelling; known keys: ${Object.keys(configFileSchema.shape).join(', ')}`,
    });
  }
  if (issue.path.length === 0) {
    return new ConfigError(`${path}: the file must hold a mapping of keys to values`, {
      hint: 'write it as key: value lines, e.g. "builder: kaniko"',
    });
  }
  const key = issue.path.map(String).join('.');
  return new ConfigError(`${path}: key "${key}": ${issue.message}`, {
    hint: `fix the value of "${key}" in ${path}`,
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
