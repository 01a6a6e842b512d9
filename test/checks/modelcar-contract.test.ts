import { describe, expect, it } from 'vitest';
import check from '../../checks/modelcar-contract.ts';
import type { ImageFile, ImageFiles } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';

const dir = (path: string, mode = 0o755): ImageFile => ({ path, type: 'dir', mode, size: 0 });
const file = (path: string, mode = 0o644): ImageFile => ({ path, type: 'file', mode, size: 10 });
const sh: ImageFile = { path: 'bin/sh', type: 'symlink', mode: 0o777, size: 0, linkname: 'busybox' };
const good: ImageFile[] = [
  dir('bin'),
  file('bin/busybox', 0o755),
  sh,
  dir('models'),
  file('models/config.json'),
  file('models/weights.safetensors'),
];

function image(files: readonly ImageFile[], entrypoint: readonly string[] = []): ImageFiles {
  return {
    image: 'registry/models/m:v1',
    digest: `sha256:${'1'.repeat(64)}`,
    platform: 'linux/amd64',
    entrypoint,
    cmd: ['sh'],
    files,
  };
}

async function run(files: ImageFiles | Error) {
  const registry = {
    platforms: () => Promise.reject(new Error('unused')),
    files: () => (files instanceof Error ? Promise.reject(files) : Promise.resolve(files)),
  };
  return check.run(fakeContext({ registry, options: { images: ['registry/models/m:v1'] } }));
}

describe('modelcar-contract', () => {
  it.each([
    ['a good modelcar', image(good), 'pass', /meets the modelcar contract/],
    ['no /models', image(good.filter((f) => !f.path.startsWith('models'))), 'fail', /has no \/models/],
    [
      'an empty /models',
      image([...good.filter((f) => !f.path.startsWith('models')), dir('models'), dir('models/sub')]),
      'fail',
      /\/models is empty/,
    ],
    ['no sh', image(good.filter((f) => f !== sh)), 'fail', /has no sh/],
    ['an ENTRYPOINT', image(good, ['/bin/serve']), 'fail', /has ENTRYPOINT \["\/bin\/serve"\]/],
    [
      'a private model file',
      image([...good, file('models/secret.bin', 0o600)]),
      'fail',
      /1 model path\(s\) not readable by other uids: \/models\/secret\.bin \(0600\)/,
    ],
    [
      'a closed model dir',
      image([...good, dir('models/sub', 0o750), file('models/sub/a')]),
      'fail',
      /\/models\/sub \(0750\)/,
    ],
    [
      'an image that cannot be read',
      new Error('manifest unknown'),
      'fail',
      /cannot read registry\/models\/m:v1: manifest unknown/,
    ],
  ] as const)('%s → %s', async (_name, files, status, message) => {
    const result = await run(files);
    expect(result.status).toBe(status);
    expect('message' in result ? result.message : '').toMatch(message);
  });

  it('tells how to build a conforming modelcar', async () => {
    const result = await run(image([]));
    expect('remediation' in result ? result.remediation : '').toContain(
      'preflight modelcar build --model-dir DIR --image REF',
    );
  });

  it('does not apply without --image', () => {
    expect(check.appliesTo?.(fakeContext())).toMatch(/no images given/);
  });
});
