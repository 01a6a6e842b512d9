import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../../src/config/units.ts';

describe('parseDuration', () => {
  it.each([
    ['15s', 15_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['3', 3000],
    ['1.5s', 1500],
  ])('%s → %i ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each(['', '15x', 's', '1h 30m', '-5s', '15s!'])('rejects %j', (input) =>
    expect(parseDuration(input)).toBeUndefined(),
  );
});

describe('parseSize', () => {
  it.each([
    ['48GiB', 48 * 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['2GB', 2e9],
    ['1024', 1024],
    ['1.5 gib', 1.5 * 2 ** 30],
  ])('%s → %i bytes', (input, bytes) => expect(parseSize(input)).toBe(bytes));

  it.each(['', 'GiB', '12 parsecs', '-1GiB'])('rejects %j', (input) => expect(parseSize(input)).toBeUndefined());
});

describe('formatting', () => {
  it.each([
    [15_000, '15s'],
    [5_400_000, '1h30m'],
    [250, '250ms'],
  ])('formatDuration(%i) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it.each([
    [512, '512 B'],
    [48 * 2 ** 30, '48.0 GiB'],
    [1536 * 2 ** 20, '1.5 GiB'],
  ])('formatBytes(%i) = %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
