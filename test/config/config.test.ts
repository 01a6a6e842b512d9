import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHECK_OPTIONS, checkCommandDefinition } from '../../src/cli/check-command.ts';
import { readOptions } from '../../src/cli/options.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { resolveCheckConfig } from '../../src/config/resolve.ts';
import { ConfigError } from '../../src/errors.ts';
import { testdir } from '../support/testdir.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

async function configError(yaml: string): Promise<ConfigError> {
  const dir = await testdir({ 'preflight.yaml': yaml });
  const error = await loadConfigFile(join(dir, 'preflight.yaml'), true).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

/** Parse flags the way the CLI does, with env vars read from the (stubbed) process env. */
function given(args: string[]) {
  const cmd = checkCommandDefinition();
  cmd.exitOverride().parse(args, { from: 'user' });
  return readOptions(cmd, CHECK_OPTIONS, process.env).given;
}

describe('preflight.yaml', () => {
  it.each([
    ['an unknown key', 'buildr: kaniko\n', /preflight\.yaml: unknown key "buildr"/],
    ['a wrong type', 'timeout: 15\n', /preflight\.yaml: key "timeout": .*expected string/i],
    ['a bad duration', 'timeout: soon\n', /key "timeout": must be a duration/],
    ['a bad enum', 'builder: docker\n', /key "builder": /],
    ['a bad list item', 'only: [ecr-uri, 3]\n', /key "only\.1": /],
    ['a scalar file', 'just text\n', /must hold a mapping/],
    ['invalid YAML', 'builder: [kaniko\n', /preflight\.yaml:\d+: invalid YAML/],
    ['a duplicate key', 'builder: kaniko\nbuilder: buildah\n', /invalid YAML/],
  ])('rejects %s naming the file and key', async (_name, yaml, message) => {
    const error = await configError(yaml);
    expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(2);
    expect(error.hint).toBeTruthy();
  });

  it('is optional when not named, required when named', async () => {
    const dir = await testdir();
    await expect(loadConfigFile(join(dir, 'preflight.yaml'), false)).resolves.toBeUndefined();
    await expect(loadConfigFile(join(dir, 'preflight.yaml'), true)).rejects.toThrow(/cannot read config file/);
  });
});

describe('resolveCheckConfig precedence: flags > env > file > defaults', () => {
  it('takes each value from the highest source that has it', async () => {
    const dir = await testdir({
      'preflight.yaml':
        'ecrUri: from-file\nawsRegion: eu-north-1\ntimeout: 20s\nbuilder: buildah\nmanifests: [pipelines]\nplugins: [team.mjs]\n',
    });
    const file = await loadConfigFile(join(dir, 'preflight.yaml'), true);
    vi.stubEnv('ECR_URI', 'from-env');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    const config = resolveCheckConfig(given(['--aws-region', 'eu-west-1']), file, {});
    expect(config.options).toMatchObject({
      ecrUri: 'from-env',
      awsRegion: 'eu-west-1',
      builder: 'buildah',
      platform: 'linux/amd64',
    });
    expect(config.timeoutMs).toBe(20_000);
    expect(config.concurrency).toBe(4);
    // Paths in the file resolve against the file's folder.
    expect(config.options.manifests).toEqual([join(dir, 'pipelines')]);
    expect(config.plugins).toEqual([join(dir, 'team.mjs')]);
  });

  it('takes values but not plugins from an implicit ./preflight.yaml, with one warning; a named file keeps them', async () => {
    const dir = await testdir({ 'preflight.yaml': 'awsRegion: eu-north-1\nplugins: [.hidden/evil.js]\n' });
    const implicit = resolveCheckConfig(given([]), await loadConfigFile(join(dir, 'preflight.yaml'), false), {});
    expect(implicit.options.awsRegion).toBe('eu-north-1');
    expect(implicit.plugins).toEqual([]);
    expect(implicit.warnings).toEqual([
      expect.stringMatching(/^ignoring plugins: in \.\/preflight\.yaml .*--config preflight\.yaml/),
    ]);
    // --plugin replaces the file's list anyway: the user asked for code by name, nothing to warn about.
    const flagged = resolveCheckConfig(
      given(['--plugin', 'mine.mjs']),
      await loadConfigFile(join(dir, 'preflight.yaml'), false),
      {},
    );
    expect(flagged.plugins).toEqual([join(process.cwd(), 'mine.mjs')]);
    expect(flagged.warnings).toEqual([]);
    const named = resolveCheckConfig(given([]), await loadConfigFile(join(dir, 'preflight.yaml'), true), {});
    expect(named.plugins).toEqual([join(dir, '.hidden/evil.js')]);
    expect(named.warnings).toEqual([]);
  });

  it('uses defaults when nothing is given', () => {
    const config = resolveCheckConfig(given([]), undefined, {});
    expect(config).toMatchObject({ timeoutMs: 30_000, concurrency: 4, strict: false, scope: 'laptop', skip: [] });
    expect(config.only).toBeUndefined();
  });

  it.each([
    [{ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, [], 'pod'],
    [{}, [], 'laptop'],
    [{ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, ['--scope', 'laptop'], 'laptop'],
    [{}, ['--scope', 'pod'], 'pod'],
  ])('scope with env %j and flags %j is %s', (env, args, scope) => {
    expect(resolveCheckConfig(given(args), undefined, env).scope).toBe(scope);
  });

  it('converts flag strings: id lists, numbers, sizes', () => {
    const config = resolveCheckConfig(
      given(['--only', 'a,b', '--skip', 'c', '--concurrency', '2', '--model-size', '48GiB', '--strict']),
      undefined,
      {},
    );
    expect(config).toMatchObject({ only: ['a', 'b'], skip: ['c'], concurrency: 2, strict: true });
    expect(config.options.modelSize).toBe(48 * 2 ** 30);
  });

  it.each([
    [['--timeout', 'soon'], /^--timeout: must be a duration/],
    [['--concurrency', 'many'], /^--concurrency: .*expected number/i],
    [['--concurrency', '0'], /^--concurrency: /],
    [['--model-size', 'huge'], /^--model-size: /],
    [['--platform', 'amd64'], /^--platform: must be os\/arch/],
  ])('rejects %j naming the flag', (args, message) => {
    expect(() => resolveCheckConfig(given(args), undefined, {})).toThrow(message);
  });

  it('names the env var when an env value is invalid, and takes an empty one as unset', () => {
    vi.stubEnv('ECR_URI', 'not a uri\n');
    vi.stubEnv('AWS_REGION', '');
    const values = given([]);
    expect(values.ecrUri).toEqual({ value: 'not a uri\n', origin: 'env ECR_URI' });
    expect(values.awsRegion).toBeUndefined();
    vi.stubEnv('DOCKER_CONFIG', '');
    expect(given([]).dockerConfig).toBeUndefined();
  });

  it('knows KFP_TOKEN is set without copying it into options', () => {
    const token = `kfp-${Math.random().toString(36).slice(2)}`;
    const config = resolveCheckConfig(given([]), undefined, { KFP_TOKEN: token });
    expect(config.options.hasKfpToken).toBe(true);
    expect(JSON.stringify(config)).not.toContain(token);
  });
});
