import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../checks/format-size.ts';
import check from '../../checks/scratch-space.ts';
import type { CheckOptions, CheckResult, UserInfo } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';
import { type MountSpec, type NodeSpec, createMemoryFs, dir, file } from '../support/memory-fs.ts';

const GiB = 1024 ** 3;
const user: UserInfo = { uid: 1000770000, gid: 0, groups: [0] };
const model = { '/models/llm/model.safetensors': file({ size: 48 * GiB }), '/models/llm/config.json': file('{}') };
const files = { '/tmp': dir(0o1777), '/kaniko': dir(0o777), '/scratch': dir(0o777), ...model };
const free = (gib: number): MountSpec => ({ availableBytes: gib * GiB, totalBytes: 500 * GiB });
const size48: Partial<CheckOptions> = { modelSize: 48 * GiB };

interface Case {
  readonly name: string;
  readonly options: Partial<CheckOptions>;
  readonly env?: Record<string, string>;
  readonly mounts: Record<string, MountSpec>;
  readonly files?: Record<string, NodeSpec>;
  readonly status: CheckResult['status'];
  readonly message: string;
  readonly details?: readonly string[];
  readonly remediation?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'nothing to size the model by',
    options: {},
    mounts: {},
    status: 'skip',
    message: 'model size unknown: pass --model-dir <dir> or --model-size <size>',
  },
  {
    name: "preflight's own push, whatever the space",
    options: { ...size48, builder: 'preflight' },
    mounts: { '/': free(1) },
    status: 'pass',
    message:
      'builder preflight streams layers from the model directory to the registry: 0 bytes of scratch space needed',
  },
  {
    name: 'buildah with TMPDIR under twice the model',
    options: { ...size48, builder: 'buildah' },
    mounts: { '/': free(500), '/tmp': free(50) },
    status: 'fail',
    message:
      '/tmp (TMPDIR) has 50.0 GiB free; buildah spools up to 96.0 GiB (2 × the 48.0 GiB model) to temp disk and will run out',
    remediation: ['preflight modelcar build', 'at least 96.0 GiB', 'ephemeral-storage: 96Gi', 'mountPath: /tmp'],
  },
  {
    name: 'podman, model measured in --model-dir, TMPDIR elsewhere',
    options: { modelDir: '/models/llm', builder: 'podman', dockerConfig: '/tmp/.docker' },
    env: { TMPDIR: '/scratch' },
    mounts: { '/': free(500), '/scratch': free(60) },
    status: 'fail',
    message: '/scratch (TMPDIR) has 60.0 GiB free; podman spools up to 96.0 GiB',
    details: [
      'model: 48.0 GiB in /models/llm',
      'TMPDIR /scratch: 60.0 GiB free',
      'Docker config /tmp/.docker (not created yet; measured at /tmp): 500.0 GiB free',
      'model dir /models/llm: 500.0 GiB free',
    ],
    // 48 GiB and the 2-byte config.json: the request rounds up, never down.
    remediation: ['preflight modelcar build', 'ephemeral-storage: 97Gi', 'mountPath: /scratch'],
  },
  {
    name: 'kaniko with a small /kaniko',
    options: { ...size48, builder: 'kaniko' },
    mounts: { '/': free(500), '/kaniko': free(10) },
    status: 'fail',
    message: '/kaniko (kaniko dir) has 10.0 GiB free; kaniko spools up to 96.0 GiB',
    remediation: ['mountPath: /kaniko'],
  },
  {
    name: 'builder unknown and TMPDIR under twice the model',
    options: size48,
    mounts: { '/': free(50) },
    status: 'warn',
    message:
      "/tmp (TMPDIR) has 50.0 GiB free: buildah, podman, skopeo and kaniko spool up to 96.0 GiB (2 × the 48.0 GiB model) to temp disk, while preflight's own push needs none",
    remediation: ['preflight modelcar build', 'ephemeral-storage: 96Gi'],
  },
  {
    name: 'buildah with room to spare',
    options: { ...size48, builder: 'buildah' },
    mounts: { '/': free(200) },
    status: 'pass',
    message: '/tmp has 200.0 GiB free, enough for 96.0 GiB (2 × the 48.0 GiB model)',
  },
  {
    name: 'a --model-dir that is not there',
    options: { modelDir: '/models/missing', builder: 'buildah' },
    mounts: {},
    status: 'fail',
    message: 'cannot measure the model in /models/missing',
    remediation: ['preflight check --model-size 48GiB'],
  },
];

function setup(c: Pick<Case, 'options' | 'env' | 'mounts' | 'files'>) {
  const fs = createMemoryFs({ user, files: c.files ?? files, mounts: c.mounts });
  return { fs, ctx: fakeContext({ fs, user, scope: 'pod', env: c.env ?? {}, options: c.options }) };
}

describe('scratch-space', () => {
  it.each(cases)('$status: $name', async (c) => {
    const result = await check.run(setup(c).ctx);
    expect(result.status).toBe(c.status);
    if (result.status === 'skip') {
      expect(result.reason).toContain(c.message);
      return;
    }
    expect(result.message).toContain(c.message);
    if (c.details !== undefined) expect(result.details).toEqual(c.details);
    for (const part of c.remediation ?? [])
      expect(result.status === 'pass' ? 'no remediation on a pass' : result.remediation).toContain(part);
  });

  it('writes nothing: free space comes from statfs alone', async () => {
    const { fs, ctx } = setup({ options: { modelDir: '/models/llm', builder: 'buildah' }, mounts: { '/': free(500) } });
    const before = fs.paths();
    expect((await check.run(ctx)).status).toBe('pass');
    expect(fs.paths()).toEqual(before);
    expect(fs.operations()).toEqual([]);
  });

  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [48 * GiB, '48.0 GiB'],
    [1.25 * 1024 * GiB, '1.3 TiB'],
  ])('formatBytes(%i) is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
