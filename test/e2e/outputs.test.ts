import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageManifest, memoryBlob, randomBlob } from '../support/blobs.ts';
import { type BusyboxBase, pushBusyboxBase } from '../support/busybox-base.ts';
import { CLI, type CliResult, runCli, runCommand } from '../support/cli.ts';
import { writeLayout } from '../support/layout.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';

/**
 * Issue 14, "Outputs": every output path is probed before the first request, so a path that cannot
 * be written is one line (exit 2) with nothing pushed, instead of ENOENT after the manifest went up;
 * a missing folder is created.
 */
let registry: RegistryHandle;
let base: BusyboxBase;
let work: string;
let layoutDir: string;
let modelDir: string;
let repoCount = 0;

beforeAll(async () => {
  registry = await startRegistry();
  base = await pushBusyboxBase(registry);
  // Readable by the other uid of the read-only-folder case; not testdir(), it serves the whole file.
  work = await mkdtemp(join(tmpdir(), 'preflight-outputs-e2e-'));
  await chmod(work, 0o755);
  layoutDir = join(work, 'layout');
  await writeLayout(layoutDir, [
    { root: imageManifest([randomBlob(100_000), memoryBlob(Buffer.from('x'))]), ref: 'v1' },
  ]);
  modelDir = join(work, 'model');
  await mkdir(modelDir);
  await writeFile(join(modelDir, 'config.json'), '{"architectures": ["MistralForCausalLM"]}');
  await writeFile(join(modelDir, 'model.safetensors'), Buffer.alloc(50_000, 7));
});

afterAll(async () => {
  await Promise.all([registry.stop(), rm(work, { recursive: true, force: true })]);
});

interface Command {
  readonly name: string;
  readonly flag: string;
  /** The command line pushing to `repository:v1`, writing its output `flag` to `path`. */
  args(repository: string, path: string): string[];
}

const push: Command = {
  name: 'push',
  flag: '--digest-file',
  args: (repository, path) => [
    'push',
    `oci:${layoutDir}:v1`,
    `${registry.host}/${repository}:v1`,
    '--digest-file',
    path,
  ],
};
const build: Command = {
  name: 'modelcar build',
  flag: '--digest-file',
  args: (repository, path) => [
    'modelcar',
    'build',
    '--model-dir',
    modelDir,
    '--image',
    `${registry.host}/${repository}:v1`,
    '--base',
    base.reference,
    '--no-cache',
    '--digest-file',
    path,
  ],
};
const run = (flag: string): Command => ({
  name: 'run',
  flag,
  args: (repository, path) => [
    'run',
    '--model-dir',
    modelDir,
    '--image',
    `${registry.host}/${repository}:v1`,
    '--base',
    base.reference,
    '--no-cache',
    '--only',
    'ecr-uri',
    flag,
    path,
  ],
});
const COMMANDS: readonly Command[] = [
  push,
  build,
  run('--image-uri-file'),
  run('--image-url-file'),
  run('--image-digest-file'),
  run('--report-file'),
];

function nextRepository(): string {
  repoCount += 1;
  return `outputs/r${repoCount}`;
}

/** The registry's answer to GET manifest: 404 when nothing was pushed under the tag. */
async function manifestStatus(repository: string): Promise<number> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/v1`, {
    headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  await response.arrayBuffer();
  return response.status;
}

/** Exit 2, the error line naming the flag and the path, one hint line, no stack, nothing pushed. */
async function expectRefused(result: CliResult, command: Command, path: string, code: string, repository: string) {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe(`error: cannot write ${command.flag} ${path} (${code}): nothing was pushed`);
  expect(lines[1]).toMatch(/^hint: \S/);
  expect(lines).toHaveLength(2);
  expect(result.stdout).toBe('');
  expect(result.code).toBe(2);
  expect(await manifestStatus(repository)).toBe(404);
}

// A hang bound only: each case is a second or two, but spawns Node on two cores other work shares.
describe('output files: probed before any push (issue 14, Outputs)', { timeout: 180_000 }, () => {
  it.each(COMMANDS.map((c) => [`${c.name} ${c.flag}`, c]))(
    '%s under a regular file (ENOTDIR): exit 2, one line, nothing pushed, nothing left',
    async (_name, command) => {
      const [dir, home] = await Promise.all([testdir({ 'a-file': 'not a folder' }), testdir()]);
      const path = join(dir, 'a-file', 'out');
      const repository = nextRepository();
      const result = await runCli(command.args(repository, path), { env: { HOME: home } });
      await expectRefused(result, command, path, 'ENOTDIR', repository);
      expect(await readdir(dir)).toEqual(['a-file']);
    },
  );

  it.each([push, build, run('--report-file')].map((c) => [`${c.name} ${c.flag}`, c]))(
    '%s naming a folder (EISDIR): exit 2 before the push, the folder untouched',
    async (_name, command) => {
      const dir = await testdir({ 'out/keep': 'x' });
      const path = join(dir, 'out');
      const repository = nextRepository();
      const result = await runCli(command.args(repository, path), { env: { HOME: dir } });
      await expectRefused(result, command, path, 'EISDIR', repository);
      expect(await readdir(path)).toEqual(['keep']);
    },
  );

  // Root writes through 0555; another uid does not. CI runs as root, where a missing setpriv must fail, not skip.
  it
    .runIf(process.getuid?.() === 0 || process.env.CI === 'true')
    .each([push, build, run('--image-uri-file')].map((c) => [`${c.name} ${c.flag}`, c]))(
    '%s in a read-only folder (EACCES, as the pod uid): exit 2, nothing pushed',
    async (_name, command) => {
      const dir = join(work, `readonly-${nextRepository().replace('/', '-')}`);
      await mkdir(dir);
      await chmod(dir, 0o555);
      const path = join(dir, 'out');
      const repository = nextRepository();
      const result = await runCli(command.args(repository, path), {
        asUser: { uid: 1000770000, gid: 0 },
        env: { HOME: '/' },
        cwd: '/',
      });
      await expectRefused(result, command, path, 'EACCES', repository);
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it.each(COMMANDS.map((c) => [`${c.name} ${c.flag}`, c]))(
    '%s in a folder that does not exist yet: created (0755), the file written, no temp file',
    async (_name, command) => {
      const dir = await testdir();
      const folder = join(dir, 'outputs', 'nested');
      const path = join(folder, 'out');
      const repository = nextRepository();
      const result = await runCli(command.args(repository, path), { env: { HOME: dir }, umask: 0o022 });
      expect(result.stderr).not.toMatch(/error/);
      expect(result.code).toBe(0);
      expect(await readdir(folder)).toEqual(['out']);
      expect((await stat(folder)).mode & 0o777).toBe(0o755);
      expect((await readFile(path, 'utf8')).length).toBeGreaterThan(0);
      expect(await manifestStatus(repository)).toBe(200);
    },
  );

  it('check --output-file in a folder that does not exist yet: created, the report written', async () => {
    const dir = await testdir();
    const path = join(dir, 'reports', 'check.json');
    const result = await runCli(['check', '--only', 'ecr-uri', '-o', 'json', '--output-file', path], {
      env: { HOME: dir },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await readdir(join(dir, 'reports'))).toEqual(['check.json']);
    expect(await readFile(path, 'utf8')).toMatch(/"schemaVersion": 1/);
  });

  // A full disk: a 64 KiB tmpfs filled up, in a private mount namespace (root, as CI runs).
  it
    .runIf(process.getuid?.() === 0 || process.env.CI === 'true')
    .each([push, build, run('--report-file')].map((c) => [`${c.name} ${c.flag}`, c]))(
    '%s on a full disk (ENOSPC): exit 2, nothing pushed, no temp file left',
    async (_name, command) => {
      const [dir, home] = await Promise.all([testdir(), testdir()]);
      const path = join(dir, 'out');
      const repository = nextRepository();
      const script = [
        'mount -t tmpfs -o size=64k tmpfs "$0" || exit 99',
        'dd if=/dev/zero of="$0/fill" bs=4096 2>/dev/null',
        '"$@"',
        'code=$?',
        // After the run, what the full volume holds: only the filler, no temp file.
        'echo "left: $(ls -A "$0" | tr "\\n" " ")" >&2',
        'exit $code',
      ].join('\n');
      const raw = await runCommand(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          dir,
          process.execPath,
          CLI,
          ...command.args(repository, path),
        ],
        { env: { PATH: process.env.PATH, NO_COLOR: '1', HOME: home } },
      );
      const left = raw.stderr.match(/\nleft: (.*)\n$/);
      expect(left?.[1]).toBe('fill ');
      await expectRefused(
        { ...raw, stderr: raw.stderr.slice(0, left?.index ?? 0) },
        command,
        path,
        'ENOSPC',
        repository,
      );
    },
  );
});
