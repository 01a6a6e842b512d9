import { describe, expect, it } from 'vitest';
import {
  ECR_MAX_CHUNKED_BYTES,
  ECR_MAX_LAYER_BYTES,
  ECR_MAX_PARTS,
  ECR_PART_MAX,
  ECR_PART_MIN,
  checkChunkSize,
  checkLayerSize,
  uploadPlan,
} from '../../src/registry/limits.ts';
import { UsageError } from '../../src/errors.ts';

const MiB = 2 ** 20;
const chunked = { mode: 'chunked', chunkSize: 8 * MiB } as const;

describe('ECR upload plans', () => {
  it.each([
    ['a small layer keeps the asked part size', 100 * MiB, 8 * MiB],
    ['4,200 parts of 8 MiB still fit', ECR_MAX_PARTS * 8 * MiB, 8 * MiB],
    [
      'one byte more needs a bigger part',
      ECR_MAX_PARTS * 8 * MiB + 1,
      Math.ceil((ECR_MAX_PARTS * 8 * MiB + 1) / ECR_MAX_PARTS),
    ],
    ['36 GB (one GGUF file)', 36e9, Math.ceil(36e9 / ECR_MAX_PARTS)],
    ['exactly 42,000 MiB', ECR_MAX_CHUNKED_BYTES, ECR_PART_MAX],
  ])('%s', (_name, size, partSize) => {
    const plan = uploadPlan(size, { ...chunked, ecr: true });
    expect(plan).toEqual({ mode: 'chunked', partSize });
    expect(plan.partSize).toBeGreaterThanOrEqual(ECR_PART_MIN);
    expect(plan.partSize).toBeLessThanOrEqual(ECR_PART_MAX);
    expect(Math.ceil(size / plan.partSize)).toBeLessThanOrEqual(ECR_MAX_PARTS);
  });

  it('streams a layer no chunked upload fits (above 42,000 MiB) in one PATCH', () => {
    expect(uploadPlan(ECR_MAX_CHUNKED_BYTES + 1, { ...chunked, ecr: true }).mode).toBe('stream');
  });

  it('leaves other registries alone', () => {
    expect(uploadPlan(60_000 * MiB, { mode: 'chunked', chunkSize: 64 * MiB, ecr: false })).toEqual({
      mode: 'chunked',
      partSize: 64 * MiB,
    });
  });

  it('refuses a layer above 52,000 MiB up front, naming it, its size and the limit (exit 2)', () => {
    expect(() => checkLayerSize(ECR_MAX_LAYER_BYTES, 'x', true)).not.toThrow();
    const error = (() => {
      try {
        checkLayerSize(ECR_MAX_LAYER_BYTES + 1, 'models/big.gguf', true);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    if (!(error instanceof UsageError)) throw new Error('expected a UsageError');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(
      /models\/big\.gguf is 54,525,952,001 bytes \(52,000 MiB\): above ECR's limit of 52,000 MiB per layer/,
    );
    expect(error.hint).toMatch(/split/);
    expect(() => checkLayerSize(ECR_MAX_LAYER_BYTES + 1, 'x', false)).not.toThrow();
  });

  it.each([[4 * MiB], [11 * MiB]])('--chunk-size %i is a usage error for ECR only', (size) => {
    expect(() => checkChunkSize(size, true)).toThrow(UsageError);
    expect(() => checkChunkSize(size, false)).not.toThrow();
  });
});
