import { readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBusyboxBase, type BusyboxBase } from '../support/busybox-base.ts';
import { REPO_ROOT, runCommand } from '../support/cli.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

// The runtime stage of the Containerfile, laid out on this machine: /opt/preflight, the
// /usr/local/bin/preflight link, the group-0-writable HOME and the image's ENV, run as OpenShift's
// random uid. (The image itself needs its base pulled, which this machine cannot do.)
const RANDOM_UID = 1000770000;
const canSwitchUser = process.getuid?.() === 0 || process.env.CI === 'true';

/** The ENV of the Containerfile's last stage. */
function imageEnv(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const last = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const line of last.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, key = '', value = ''] of line.slice(4).matchAll(/(\w+)=(\S+)/g)) env[key] = value;
  }
  return env;
}

describe.runIf(canSwitchUser)('the image layout, as a random uid', () => {
  let root: string;
  let registry: RegistryHandle;
  let base: BusyboxBase;
  let env: Record<string, string>;

  beforeAll(async () => {
    const image = imageEnv();
    root = await mkdtemp(join(tmpdir(), 'image-layout-'));
    await chmod(root, 0o755);
    const opt = join(root, 'opt', 'preflight');
    await mkdir(opt, { recursive: true });
    for (const part of ['package.json', 'dist', 'bin', 'schema'])
      await cp(join(REPO_ROOT, part), join(opt, part), { recursive: true });
    await symlink(join(REPO_ROOT, 'node_modules'), join(opt, 'node_modules'));
    await mkdir(join(root, 'usr', 'local', 'bin'), { recursive: true });
    await symlink(join(opt, 'bin', 'preflight.js'), join(root, 'usr', 'local', 'bin', 'preflight'));
    // Rebase the image's absolute paths under root, and do what its RUN does: group 0, g=u.
    env = Object.fromEntries(Object.entries(image).map(([k, v]) => [k, v.startsWith('/') ? join(root, v) : v]));
    const home = env.HOME ?? '';
    for (const dir of [home, env.DOCKER_CONFIG ?? '', env.XDG_CACHE_HOME ?? '']) {
      await mkdir(dir, { recursive: true });
      await chown(dir, 0, 0);
      await chmod(dir, 0o775);
    }
    registry = await startRegistry();
    base = await pushBusyboxBase(registry);
  });

  afterAll(async () => {
    await registry.stop();
    await rm(root, { recursive: true, force: true });
  });

  const run = (args: readonly string[]) =>
    runCommand(
      'setpriv',
      [
        '--reuid',
        String(RANDOM_UID),
        '--regid',
        '0',
        '--clear-groups',
        process.execPath,
        join(root, 'usr', 'local', 'bin', 'preflight'),
        ...args,
      ],
      {
        env: { PATH: process.env.PATH, ...env, TMPDIR: join(root, 'tmp') },
        cwd: env.HOME ?? '/',
      },
    );

  it('sets HOME, DOCKER_CONFIG and the cache under the group-writable home', () => {
    expect(imageEnv()).toMatchObject({
      HOME: '/home/preflight',
      DOCKER_CONFIG: '/home/preflight/.docker',
      XDG_CACHE_HOME: '/home/preflight/.cache',
    });
  });

  it('starts through the /usr/local/bin link and reports its version', async () => {
    const result = await run(['--version']);
    expect(result.stderr).toBe('');
    const pkg: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ version: result.stdout.trim() });
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('builds and pushes a modelcar as the random uid, writing only under its home (no temp disk)', async () => {
    await mkdir(join(root, 'tmp'), { mode: 0o777 });
    await chmod(join(root, 'tmp'), 0o777);
    const model = join(root, 'model');
    await mkdir(model, { mode: 0o755 });
    await writeFile(join(model, 'config.json'), '{}');
    await writeFile(join(model, 'weights.bin'), Buffer.alloc(100_000, 3));
    await chmod(join(model, 'config.json'), 0o644);
    await chmod(join(model, 'weights.bin'), 0o644);
    const result = await run([
      'run',
      '--model-dir',
      model,
      '--image',
      `${registry.host}/image/layout:v1`,
      '--base',
      base.reference,
      '--only',
      'runtime-user,docker-config',
      '--image-uri-file',
      join(env.HOME ?? '', 'out', 'image_uri'),
    ]);
    expect(result.stderr).toContain('PASS  runtime-user');
    expect(result.code).toBe(0);
    expect(await readFile(join(env.HOME ?? '', 'out', 'image_uri'), 'utf8')).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(await readdir(join(env.XDG_CACHE_HOME ?? '', 'preflight'))).toEqual(
      expect.arrayContaining(['layer-digests']),
    );
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });
});
