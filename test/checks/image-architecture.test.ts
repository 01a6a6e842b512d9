import { describe, expect, it } from 'vitest';
import check from '../../checks/image-architecture.ts';
import { type ImagePlatforms, type RegistryInspector, platformMatches } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';

/** An inspector answering from a table; an image missing from it fails like an unknown one would. */
function inspector(table: Record<string, readonly string[] | Error>): RegistryInspector & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    platforms(image): Promise<ImagePlatforms> {
      asked.push(image);
      const entry = table[image];
      if (entry === undefined) return Promise.reject(new Error(`${image}: manifest unknown`));
      if (entry instanceof Error) return Promise.reject(entry);
      return Promise.resolve({
        image,
        digest: `sha256:${'0'.repeat(64)}`,
        kind: entry.length > 1 ? 'index' : 'manifest',
        platforms: entry,
      });
    },
    files: (image) => Promise.reject(new Error(`not used: ${image}`)),
  };
}

describe('image-architecture', () => {
  it.each([
    ['an amd64 image', { app: ['linux/amd64'] }, ['app'], 'linux/amd64', 'pass', /the image offers linux\/amd64/],
    [
      'an index with amd64 among others',
      { app: ['linux/arm64', 'linux/amd64'] },
      ['app'],
      'linux/amd64',
      'pass',
      /offers/,
    ],
    [
      'an arm64 image built on a Mac',
      { app: ['linux/arm64'] },
      ['app'],
      'linux/amd64',
      'fail',
      /app is linux\/arm64 only: not linux\/amd64.*exec format error/,
    ],
    ['arm64/v8 against arm64', { app: ['linux/arm64/v8'] }, ['app'], 'linux/arm64', 'pass', /offers linux\/arm64/],
    ['an image that does not say', { app: [] }, ['app'], 'linux/amd64', 'warn', /does not declare its platform/],
    [
      'an image that cannot be read',
      {},
      ['gone'],
      'linux/amd64',
      'fail',
      /could not read the manifest of gone: gone: manifest unknown/,
    ],
    [
      'one good, one wrong',
      { a: ['linux/amd64'], b: ['linux/arm64'] },
      ['a', 'b'],
      'linux/amd64',
      'fail',
      /^b is linux\/arm64 only/,
    ],
  ] as const)('%s → %s', async (_name, table, images, platform, status, message) => {
    const registry = inspector(table);
    const result = await check.run(fakeContext({ registry, options: { images, platform } }));
    expect(result.status).toBe(status);
    expect('message' in result ? result.message : '').toMatch(message);
    expect(registry.asked).toEqual(images);
  });

  it('names the fix: build for the target platform, with podman, buildx and Kaniko', async () => {
    const result = await check.run(
      fakeContext({ registry: inspector({ app: ['linux/arm64'] }), options: { images: ['app'] } }),
    );
    expect(result.status).toBe('fail');
    const remediation = 'remediation' in result ? result.remediation : '';
    expect(remediation).toContain('podman build --platform linux/amd64 -t IMAGE .');
    expect(remediation).toContain('--custom-platform=linux/amd64');
  });

  it('checks the base and builder images too, each once', async () => {
    const registry = inspector({ app: ['linux/amd64'], base: ['linux/amd64'], kaniko: ['linux/amd64'] });
    const result = await check.run(
      fakeContext({ registry, options: { images: ['app', 'base'], baseImage: 'base', builderImage: 'kaniko' } }),
    );
    expect(result.status).toBe('pass');
    expect(registry.asked).toEqual(['app', 'base', 'kaniko']);
  });

  it('does not apply when no image is given', () => {
    expect(check.appliesTo?.(fakeContext())).toMatch(/no images given: pass --image REF/);
  });

  it.each([
    ['linux/amd64', 'linux/amd64', true],
    ['linux/amd64', 'linux/arm64', false],
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/arm64/v8', 'linux/arm64', true],
    ['linux/arm/v7', 'linux/arm/v6', false],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/amd64', 'windows/amd64', false],
  ])('platform %s accepts %s: %s', (target, offered, expected) => {
    expect(platformMatches(target, offered)).toBe(expected);
  });
});
