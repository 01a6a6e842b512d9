import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { checkCommandDefinition } from '../../src/cli/check-command.ts';
import { diagnoseCommandDefinition } from '../../src/cli/diagnose-command.ts';
import { mintCommandDefinition } from '../../src/cli/mint-command.ts';
import { modelcarCommandDefinition } from '../../src/cli/modelcar-command.ts';
import { HELP_CONFIG, OPTIONS, type OptionSpec, readOptions, required } from '../../src/cli/options.ts';
import { pushCommandDefinition } from '../../src/cli/push-command.ts';
import { runCommandDefinition } from '../../src/cli/run-command.ts';
import { UsageError } from '../../src/errors.ts';

const commands = (): Command[] => [
  checkCommandDefinition(),
  pushCommandDefinition(),
  ...modelcarCommandDefinition().commands,
  runCommandDefinition(),
  diagnoseCommandDefinition(),
  mintCommandDefinition(),
];

const rows: readonly OptionSpec[] = Object.values(OPTIONS);

function parsed(command: Command, args: string[]): Command {
  return command.exitOverride().parse(args, { from: 'user' });
}

describe('the option table', () => {
  it('declares every flag of every command (only check --list is its own)', () => {
    for (const command of commands()) {
      for (const option of command.options) {
        if (command.name() === 'check' && option.long === '--list') continue;
        expect(
          rows.some((r) => r.flags === option.flags),
          `${command.name()} ${option.flags}`,
        ).toBe(true);
      }
    }
  });

  it('gives a flag the same env var wherever it appears', () => {
    const envOf = new Map<string, Set<string>>();
    for (const row of rows) {
      const long = /--[\w-]+/.exec(row.flags)?.[0] ?? row.flags;
      envOf.set(long, (envOf.get(long) ?? new Set()).add(row.env ?? '-'));
    }
    const differing = [...envOf].filter(([, envs]) => envs.size > 1);
    expect(differing).toEqual([]);
  });

  it('reads env vars from the env it is given, never from process.env; a flag beats its env var', () => {
    process.env['ECR_URI'] = 'from-process-env';
    try {
      const check = parsed(checkCommandDefinition(), []);
      expect(readOptions(check, ['ecrUri'], {}).values.ecrUri).toBeUndefined();
      const fromEnv = readOptions(check, ['ecrUri'], { ECR_URI: 'from-io-env' });
      expect(fromEnv.values.ecrUri).toBe('from-io-env');
      expect(fromEnv.given.ecrUri).toEqual({ value: 'from-io-env', origin: 'env ECR_URI' });
      const flagged = parsed(checkCommandDefinition(), ['--ecr-uri', 'from-flag']);
      const both = readOptions(flagged, ['ecrUri'], { ECR_URI: 'from-io-env' });
      expect(both.given.ecrUri).toEqual({ value: 'from-flag', origin: '--ecr-uri' });
    } finally {
      delete process.env['ECR_URI'];
    }
  });

  it('leaves defaults out of the values given to preflight.yaml, and an empty env var unset', () => {
    const check = parsed(checkCommandDefinition(), []);
    const read = readOptions(check, ['timeout', 'awsRegion'], { AWS_REGION: '' });
    expect(read.values.timeout).toBe('30s');
    expect(read.given).toEqual({});
    expect(read.origin('timeout')).toBeUndefined();
  });

  it('converts and checks values, naming the flag or the env var they came from', () => {
    const build = modelcarCommandDefinition().commands[0] ?? new Command();
    const ok = readOptions(
      parsed(build, ['--chunk-size', '6MiB', '--label', 'a=b', '--platform', 'linux/amd64,linux/arm64']),
      ['chunkSize', 'label', 'platforms', 'maxLayers'],
      {},
    );
    expect(ok.values).toEqual({
      chunkSize: 6 * 2 ** 20,
      label: { a: 'b' },
      platforms: ['linux/amd64', 'linux/arm64'],
      maxLayers: 'auto',
    });
    const bad = (args: string[]) => () =>
      readOptions(
        parsed(modelcarCommandDefinition().commands[0] ?? new Command(), args),
        ['chunkSize', 'label', 'maxLayers', 'uploadConcurrency'],
        {},
      );
    expect(bad(['--chunk-size', 'big'])).toThrow(/^--chunk-size: "big" is not a size$/);
    expect(bad(['--label', 'novalue'])).toThrow(/^--label "novalue" is not key=value$/);
    expect(bad(['--max-layers', '0'])).toThrow(/^--max-layers: "0" is not auto/);
    expect(bad(['--concurrency', '65'])).toThrow(UsageError);
  });

  it('says which flag (and env var) a required value needs', () => {
    expect(() => required(undefined, 'modelDir')).toThrow(/^--model-dir is required$/);
    try {
      required('', 'modelDir');
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect(error instanceof UsageError ? error.hintText : '').toBe('pass --model-dir <dir>, or set MODEL_DIR');
    }
  });

  it("names each option's env var in --help", () => {
    const run = runCommandDefinition().configureHelp(HELP_CONFIG);
    const help = run.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('(env: MODEL_DIR)');
    expect(help).toMatch(/--config <file> .*\(env: PREFLIGHT_CONFIG\)/);
    expect(help).toMatch(/--scope <scope> .*\(choices: "laptop", "pod", "auto", default: "pod"\)/);
  });
});
