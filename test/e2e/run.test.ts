import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { runCli } from '../support/cli.ts';
import { testdir } from '../support/testdir.ts';
import { inspectRaw } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

let registry: RegistryHandle;
let base: BusyboxBase;
let work: string;
let modelDir: string;

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
  work = await mkdtemp(join(tmpdir(), 'preflight-run-e2e-'));
  modelDir = await mkdtemp(join(work, 'model-'));
  await writeFile(join(modelDir, 'config.json'), '{"architectures": ["MistralForCausalLM"]}');
  await writeFile(join(modelDir, 'model.safetensors'), Buffer.alloc(200_000, 7));
});

afterAll(async () => {
  await Promise.all([registry.stop(), rm(work, { recursive: true, force: true })]);
});

/** The checks that apply to a local registry from this machine; the pod-only identity checks are covered elsewhere. */
const ONLY = 'scratch-space,image-architecture,ecr-uri';

describe('preflight run (the pipeline step)', () => {
  it('runs the checks, builds and pushes the modelcar, and writes the KFP and Tekton outputs', async () => {
    const out = join(work, 'outputs', 'nested');
    const result = await runCli(
      [
        'run',
        '--model-dir',
        modelDir,
        '--image',
        `${registry.host}/team/model:v1`,
        '--base',
        base.reference,
        '--no-cache',
        '--only',
        ONLY,
        '--image-uri-file',
        join(out, 'image_uri'),
        '--image-url-file',
        join(out, 'IMAGE_URL'),
        '--image-digest-file',
        join(out, 'IMAGE_DIGEST'),
        '--report-file',
        join(out, 'report.json'),
      ],
      { env: { HOME: work } },
    );
    expect(result.stderr).toContain('PASS  image-architecture');
    expect(result.code).toBe(0);
    const uri = await readFile(join(out, 'image_uri'), 'utf8');
    expect(uri).toMatch(new RegExp(`^${registry.host}/team/model@sha256:[0-9a-f]{64}$`));
    expect(result.stdout).toBe(`${uri}\n`);
    const digest = await readFile(join(out, 'IMAGE_DIGEST'), 'utf8');
    expect(uri.endsWith(`@${digest}`)).toBe(true);
    expect(await readFile(join(out, 'IMAGE_URL'), 'utf8')).toBe(`${registry.host}/team/model:v1`);
    const manifest = await inspectRaw(registry, 'team/model:v1');
    expect(`sha256:${createHash('sha256').update(manifest).digest('hex')}`).toBe(digest);
    const report: unknown = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      outcome: 'pushed',
      digest,
      checks: { exitCode: 0 },
      push: { contract: { problems: [] } },
    });
  });

  it.each([
    ['000', 0o000],
    ['077', 0o077],
  ])(
    'result files are 0644 for the next step, the report 0600, under umask %s; planted symlinks are replaced, not followed (issue 13, case 8)',
    async (_label, umask) => {
      const out = await mkdtemp(join(work, 'modes-'));
      await writeFile(join(out, 'victim'), 'untouched');
      await symlink(join(out, 'victim'), join(out, 'image_uri'));
      await symlink(join(out, 'victim'), join(out, 'report.json'));
      const result = await runCli(
        [
          'run',
          '--model-dir',
          modelDir,
          '--image',
          `${registry.host}/team/modes:v1`,
          '--base',
          base.reference,
          '--no-cache',
          '--only',
          ONLY,
          '--image-uri-file',
          join(out, 'image_uri'),
          '--image-url-file',
          join(out, 'IMAGE_URL'),
          '--image-digest-file',
          join(out, 'IMAGE_DIGEST'),
          '--report-file',
          join(out, 'report.json'),
        ],
        { env: { HOME: work }, umask },
      );
      expect(result.code).toBe(0);
      expect(await readFile(join(out, 'victim'), 'utf8')).toBe('untouched');
      for (const [name, mode] of [
        ['image_uri', 0o644],
        ['IMAGE_URL', 0o644],
        ['IMAGE_DIGEST', 0o644],
        ['report.json', 0o600],
      ] as const) {
        const file = await lstat(join(out, name));
        expect({ name, file: file.isFile(), mode: file.mode & 0o777 }).toEqual({ name, file: true, mode });
      }
      // modelcar build --digest-file goes through the same writer as push --digest-file.
      const digestFile = join(out, 'digest');
      const build = await runCli(
        [
          'modelcar',
          'build',
          '--model-dir',
          modelDir,
          '--image',
          `${registry.host}/team/modes:v2`,
          '--base',
          base.reference,
          '--no-cache',
          '--digest-file',
          digestFile,
        ],
        { env: { HOME: work }, umask },
      );
      expect(build.code).toBe(0);
      expect((await stat(digestFile)).mode & 0o777).toBe(0o644);
    },
  );

  it('a failing check stops the step with exit 3 before anything is pushed, and the report says why', async () => {
    const reportFile = join(work, 'failed', 'report.json');
    const result = await runCli([
      'run',
      '--model-dir',
      modelDir,
      '--image',
      `${registry.host}/team/blocked:v1`,
      '--base',
      base.reference,
      '--platform',
      'linux/s390x',
      '--only',
      ONLY,
      '--report-file',
      reportFile,
      '--image-uri-file',
      join(work, 'failed', 'image_uri'),
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('FAIL  image-architecture');
    expect(result.stderr).toContain('nothing was pushed');
    expect(result.stdout).toBe('');
    expect(JSON.parse(await readFile(reportFile, 'utf8'))).toMatchObject({
      outcome: 'checks-failed',
      checks: { exitCode: 3 },
    });
    await expect(readFile(join(work, 'failed', 'image_uri'))).rejects.toThrow(/ENOENT/);
    await expect(inspectRaw(registry, 'team/blocked:v1')).rejects.toThrow(/manifest unknown/);
  });

  it('--tag completes a repository given without one (the KFP component passes them apart); a tag in both is refused', async () => {
    const result = await runCli(
      [
        'run',
        '--model-dir',
        modelDir,
        '--image',
        `${registry.host}/team/split`,
        '--tag',
        'v2',
        '--base',
        base.reference,
        '--no-cache',
        '--only',
        ONLY,
      ],
      { env: { HOME: work, DOCKER_CONFIG: '' } },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${registry.host}/team/split@sha256:`));
    await expect(inspectRaw(registry, 'team/split:v2')).resolves.toContain('layers');
    const both = await runCli([
      'run',
      '--model-dir',
      modelDir,
      '--image',
      `${registry.host}/team/split:v1`,
      '--tag',
      'v2',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('already has a tag or digest, and --tag v2 gives another');
  });

  it('needs exactly one of --model-dir and --source', async () => {
    const none = await runCli(['run', '--image', `${registry.host}/team/x:v1`]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to push: pass --model-dir DIR (build a modelcar) or --source ARCHIVE');
    const both = await runCli([
      'run',
      '--image',
      `${registry.host}/team/x:v1`,
      '--model-dir',
      modelDir,
      '--source',
      'oci:/nope',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--model-dir and --source exclude each other');
  });
  it('an implicit ./preflight.yaml sets values but never runs its plugins; --config does (issue 13, case 2)', async () => {
    const dir = await testdir({
      'preflight.yaml': 'plugins: [.hidden/evil.js]\n',
      '.hidden/evil.js': `import { writeFileSync } from 'node:fs';
writeFileSync(new URL('../imported', import.meta.url), 'the plugin ran');
export default { id: 'team-evil', title: 'evil', scope: 'any', inspects: 'nothing',
  run: async () => ({ status: 'fail', message: 'the plugin ran', remediation: 'none' }) };
`,
    });
    const args = [
      'run',
      '--model-dir',
      modelDir,
      '--image',
      `${registry.host}/team/implicit:v1`,
      '--base',
      base.reference,
      '--no-cache',
      '-o',
      'json',
    ];
    const implicit = await runCli([...args, '--only', ONLY], { cwd: dir, env: { HOME: work } });
    expect(implicit.stderr.match(/warning: ignoring plugins: in \.\/preflight\.yaml/g)).toHaveLength(1);
    expect(implicit.code).toBe(0);
    expect(JSON.parse(implicit.stdout)).toMatchObject({ outcome: 'pushed' });
    await expect(readFile(join(dir, 'imported'))).rejects.toThrow(/ENOENT/);
    const named = await runCli([...args, '--only', 'team-evil', '--config', 'preflight.yaml'], {
      cwd: dir,
      env: { HOME: work },
    });
    expect(named.code).toBe(3);
    expect(named.stderr).not.toContain('ignoring plugins');
    expect(await readFile(join(dir, 'imported'), 'utf8')).toBe('the plugin ran');
  });
});
