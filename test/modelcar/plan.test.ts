import { describe, expect, it } from 'vitest';
import { planLayers } from '../../src/modelcar/plan.ts';
import type { ModelEntry } from '../../src/modelcar/walk.ts';
import { ECR_MAX_LAYER_BYTES } from '../../src/registry/limits.ts';

const MiB = 2 ** 20;

/** Model entries without a directory behind them: planning reads no file, only sizes and names. */
function files(count: number, size: (i: number) => number = () => 4096): ModelEntry[] {
  const entries: ModelEntry[] = [
    { kind: 'dir', path: 'shards' },
    {
      kind: 'file',
      path: 'config.json',
      absolute: '/nowhere/config.json',
      size: 10,
      mtimeMs: 0,
      ctimeMs: 0,
      ino: 1,
      dev: 1,
    },
  ];
  for (let i = 0; i < count; i++) {
    const path = `shards/model-${String(i).padStart(5, '0')}.safetensors`;
    entries.push({
      kind: 'file',
      path,
      absolute: `/nowhere/${path}`,
      size: size(i),
      mtimeMs: 0,
      ctimeMs: 0,
      ino: i + 2,
      dev: 1,
    });
  }
  return entries;
}

const options = { modelsPath: '/models', layerThreshold: 1024, epoch: 0 };
const shape = (layers: ReturnType<typeof planLayers>) =>
  layers.map((l) => ({ description: l.description, cacheKey: l.cacheKey, size: l.tar.size, files: l.files }));

describe('planLayers under a layer limit', () => {
  it('under the limit: one layer per large file, exactly as without a limit', () => {
    const entries = files(20);
    const unlimited = planLayers(entries, options);
    expect(unlimited).toHaveLength(21);
    expect(shape(planLayers(entries, { ...options, maxLayers: 21 }))).toEqual(shape(unlimited));
    expect(shape(planLayers(entries, { ...options, maxLayers: 497 }))).toEqual(shape(unlimited));
  });

  it('600 large files, ECR limit 500, a base of 3 layers: at most 497 model layers, every file once, in path order', () => {
    const entries = files(600, (i) => 1000 + ((i * 7919) % 5000));
    const layers = planLayers(entries, { ...options, maxLayers: 500 - 3 });
    expect(layers.length).toBeLessThanOrEqual(497);
    expect(layers.length + 3).toBeLessThanOrEqual(500);
    const large = entries.flatMap((e) => (e.kind === 'file' && e.size >= 1024 ? [e.path] : []));
    expect(layers.slice(1).flatMap((l) => l.files)).toEqual(large);
    // A grouped layer's cache key names every file in it; its tar holds each file once, after its directories.
    const grouped = layers.slice(1).find((l) => l.files.length > 1);
    if (grouped === undefined) throw new Error('no grouped layer');
    for (const file of grouped.files) expect(grouped.cacheKey).toContain(`f ${file} `);
    expect(grouped.entries.map((e) => e.name)).toEqual([
      'models/',
      'models/shards/',
      ...grouped.files.map((f) => `models/${f}`),
    ]);
    expect(grouped.description).toMatch(
      /^models\/shards\/model-\d{5}\.safetensors … models\/shards\/model-\d{5}\.safetensors \(\d+ files\)$/,
    );
  });

  it('the same files always give the same groups (same tar sizes and cache keys, so the digest cache hits)', () => {
    const first = planLayers(files(600), { ...options, maxLayers: 100 });
    const second = planLayers(files(600), { ...options, maxLayers: 100 });
    expect(shape(second)).toEqual(shape(first));
    expect(first.length).toBeLessThanOrEqual(100);
  });

  it('balances groups by bytes and keeps each within 52,000 MiB when a cut allows it', () => {
    const sizes = [40_000, 10_000, 10_000, 40_000, 10_000, 10_000].map((m) => m * MiB);
    const layers = planLayers(
      files(6, (i) => sizes[i] ?? 0),
      { ...options, maxLayers: 4 },
    );
    expect(layers).toHaveLength(4);
    for (const layer of layers) expect(layer.tar.size).toBeLessThanOrEqual(ECR_MAX_LAYER_BYTES);
    expect(layers.slice(1).map((l) => l.files.length)).toEqual([2, 2, 2]);
  });

  it('a limit of one model layer puts every file into the small-files layer', () => {
    const layers = planLayers(files(5), { ...options, maxLayers: 1 });
    expect(layers).toHaveLength(1);
    expect(layers[0]?.files).toHaveLength(6);
    expect(layers[0]?.description).toBe('models/(directories, links and 6 small files)');
  });
});

describe('planLayers cache keys', () => {
  // mtime is user-settable (touch -d), ctime is not: a rewrite that restores size, mtime and inode still changes ctime.
  it.each([
    ['ctime', { ctimeMs: 1 }],
    ['mtime', { mtimeMs: 1 }],
    ['inode', { ino: 99 }],
    ['device', { dev: 2 }],
    ['size', { size: 11 }],
  ])('a file whose %s alone differs gets another key for its layer only', (_field, change) => {
    const entries = files(2);
    const changed = entries.map((e) => (e.kind === 'file' && e.path === 'config.json' ? { ...e, ...change } : e));
    const [small, ...large] = planLayers(entries, options);
    const [smallAfter, ...largeAfter] = planLayers(changed, options);
    expect(smallAfter?.cacheKey).not.toBe(small?.cacheKey);
    expect(largeAfter.map((l) => l.cacheKey)).toEqual(large.map((l) => l.cacheKey));
  });
});

describe('planLayers weak cache keys (the key without ctimes)', () => {
  it('the strong key is the one earlier versions wrote, so their caches still hit', () => {
    const [small, large] = planLayers(files(1), options);
    expect(small?.cacheKey).toBe(
      'preflight-modelcar-layer v1\nepoch 0\nbase models\nd shards\nf config.json 10 0 0 1 1',
    );
    expect(large?.cacheKey).toBe(
      'preflight-modelcar-layer v1\nepoch 0\nbase models\nf shards/model-00000.safetensors 4096 0 0 2 1',
    );
  });

  it('a chown or chmod (ctime alone) keeps the weak key; any other change of a file changes it too', () => {
    const entries = files(2);
    const changed = (change: object) =>
      planLayers(
        entries.map((e) => (e.kind === 'file' && e.path === 'config.json' ? { ...e, ...change } : e)),
        options,
      );
    const [small] = planLayers(entries, options);
    expect(changed({ ctimeMs: 1 })[0]?.weakKey).toBe(small?.weakKey);
    for (const change of [{ mtimeMs: 1 }, { ino: 99 }, { dev: 2 }, { size: 11 }])
      expect(changed(change)[0]?.weakKey).not.toBe(small?.weakKey);
  });

  it('no weak key equals any strong key, of its own layer or another', () => {
    const layers = planLayers(files(3), options);
    const strong = new Set(layers.map((l) => l.cacheKey));
    for (const layer of layers) expect(strong.has(layer.weakKey)).toBe(false);
    expect(new Set(layers.map((l) => l.weakKey)).size).toBe(layers.length);
  });
});
