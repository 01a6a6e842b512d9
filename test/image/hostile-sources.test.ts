import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { openSource } from '../../src/image/open-source.ts';
import { imageManifest, randomBlob, type TestManifest } from '../support/blobs.ts';
import { writeLayout } from '../support/layout.ts';
import { BLOCK, endOfArchive, rawHeader, tarOfFiles } from '../support/tar.ts';
import { testdir } from '../support/testdir.ts';

// Issue 13, case 5: every JSON document of a source is read from a regular file inside the source,
// under a size limit, and no error quotes what it read.
const exec = promisify(execFile);
const HANG_BOUND_MS = 30_000;
const MEMORY_BOUND = 64 * 2 ** 20;
// A stand-in for /etc/shadow: no part of it may reach a message.
const SECRET = 'root:$6$Zq8pS3cr3tSalt$hunter2hunter2hunter2:19000:0:99999:7:::';
const SECRET_PARTS = ['root', 'Zq8p', 'S3cr3t', 'hunter2', '19000', '99999'];

async function layout(): Promise<{ dir: string; image: TestManifest }> {
  const dir = join(await testdir(), 'layout');
  const image = imageManifest([randomBlob(1000)]);
  await writeLayout(dir, [{ root: image, ref: 'v1' }]);
  return { dir, image };
}

/** The error `openSource(spec)` rejects with, and how much the RSS grew meanwhile. */
async function refusal(spec: string): Promise<{ error: unknown; rssGrowth: number }> {
  const before = process.memoryUsage().rss;
  try {
    const image = await openSource(spec, { signal: new AbortController().signal });
    await image.close();
    return { error: undefined, rssGrowth: process.memoryUsage().rss - before };
  } catch (error) {
    return { error, rssGrowth: process.memoryUsage().rss - before };
  }
}

function expectOneLine(error: unknown, pattern: RegExp): void {
  expect(error).toBeInstanceOf(UsageError);
  const message = error instanceof Error ? error.message : '';
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
}

function expectNoSecret(error: unknown): void {
  const text = error instanceof UsageError ? `${error.message} ${error.hint ?? ''}` : String(error);
  for (const part of SECRET_PARTS) expect(text).not.toContain(part);
}

describe('oci: layouts read only regular files inside the layout', () => {
  it(
    'refuses index.json linked to /dev/zero without reading it',
    async () => {
      const { dir } = await layout();
      await rename(join(dir, 'index.json'), join(dir, 'index.json.orig'));
      await symlink('/dev/zero', join(dir, 'index.json'));
      const { error, rssGrowth } = await refusal(`oci:${dir}`);
      expectOneLine(error, /index\.json is a link to \/dev\/zero, outside the layout/);
      expect(rssGrowth).toBeLessThan(MEMORY_BOUND);
    },
    HANG_BOUND_MS,
  );

  it(
    'refuses index.json linked to a file outside the layout and quotes none of it',
    async () => {
      const { dir } = await layout();
      const shadow = join(await testdir(), 'shadow');
      await writeFile(shadow, `${SECRET}\n`);
      await rename(join(dir, 'index.json'), join(dir, 'index.json.orig'));
      await symlink(shadow, join(dir, 'index.json'));
      const { error } = await refusal(`oci:${dir}`);
      expectOneLine(error, /index\.json is a link to .*, outside the layout/);
      expectNoSecret(error);
    },
    HANG_BOUND_MS,
  );

  it('follows a link that stays inside the layout', async () => {
    const { dir, image } = await layout();
    await rename(join(dir, 'index.json'), join(dir, 'real-index.json'));
    await symlink('real-index.json', join(dir, 'index.json'));
    const opened = await openSource(`oci:${dir}`, { signal: new AbortController().signal });
    expect(opened.root.digest).toBe(image.digest);
  });

  it(
    'refuses a FIFO as index.json instead of blocking on it',
    async () => {
      const { dir } = await layout();
      await rename(join(dir, 'index.json'), join(dir, 'index.json.orig'));
      await exec('mkfifo', [join(dir, 'index.json')]);
      const { error } = await refusal(`oci:${dir}`);
      expectOneLine(error, /index\.json is not a regular file/);
    },
    HANG_BOUND_MS,
  );

  it('refuses a directory as index.json', async () => {
    const { dir } = await layout();
    await rename(join(dir, 'index.json'), join(dir, 'index.json.orig'));
    await mkdir(join(dir, 'index.json'));
    const { error } = await refusal(`oci:${dir}`);
    expectOneLine(error, /index\.json is not a regular file/);
  });

  it(
    'refuses an index.json above the limit before reading it',
    async () => {
      const { dir } = await layout();
      await truncate(join(dir, 'index.json'), 1536 * 2 ** 20);
      const { error, rssGrowth } = await refusal(`oci:${dir}`);
      expectOneLine(error, /index\.json is 1610612736 bytes, above the limit of 4194304/);
      expect(rssGrowth).toBeLessThan(MEMORY_BOUND);
    },
    HANG_BOUND_MS,
  );

  it('refuses a blob linked to a file outside the layout', async () => {
    const { dir, image } = await layout();
    const blob = join(dir, 'blobs', 'sha256', image.digest.slice('sha256:'.length));
    const outside = join(await testdir(), 'manifest');
    await writeFile(outside, await readFile(blob));
    await rename(blob, `${blob}.orig`);
    await symlink(outside, blob);
    const { error } = await refusal(`oci:${dir}`);
    expectOneLine(error, new RegExp(`blob ${image.digest} is a link to .*, outside the layout`));
  });

  it(
    'refuses a blob that is /dev/zero',
    async () => {
      const { dir, image } = await layout();
      const blob = join(dir, 'blobs', 'sha256', image.config.digest.slice('sha256:'.length));
      await rename(blob, `${blob}.orig`);
      await symlink('/dev/zero', blob);
      const { error, rssGrowth } = await refusal(`oci:${dir}`);
      expectOneLine(error, /is a link to \/dev\/zero, outside the layout/);
      expect(rssGrowth).toBeLessThan(MEMORY_BOUND);
    },
    HANG_BOUND_MS,
  );
});

describe('JSON errors name the document and the position, never the content', () => {
  it.each([
    // V8 names the position of some faults only ("Unexpected token" has none): the text never.
    ['text that is not JSON', `${SECRET}\n`, /index\.json is not valid JSON$/],
    [
      'JSON cut short',
      `{"manifests": [{"x": "${SECRET}`,
      /index\.json is not valid JSON \(at position \d+ \(line 1 column \d+\)\)$/,
    ],
    ['a wrong type', JSON.stringify({ manifests: SECRET }), /index\.json: manifests: expected Array/],
    [
      'a bad digest',
      JSON.stringify({ manifests: [{ mediaType: 'x', digest: SECRET, size: 1 }] }),
      /index\.json: manifests\.0\.digest: must be sha256:<64 hex>/,
    ],
    [
      'a bad size',
      JSON.stringify({ manifests: [{ mediaType: SECRET, digest: `sha256:${'a'.repeat(64)}`, size: SECRET }] }),
      /index\.json: manifests\.0\.size: expected number/,
    ],
  ])('index.json holding %s', async (_name, text, pattern) => {
    const { dir } = await layout();
    await writeFile(join(dir, 'index.json'), text);
    const { error } = await refusal(`oci:${dir}`);
    expectOneLine(error, pattern);
    expectNoSecret(error);
  });

  it('a manifest blob that is not JSON', async () => {
    const { dir, image } = await layout();
    // The digest must match for the parser to be reached: write a layout whose manifest is the secret.
    const bytes = Buffer.from(SECRET);
    const { sha256 } = await import('../../src/util/sha256.ts');
    const digest = sha256(bytes);
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    await writeFile(
      join(dir, 'index.json'),
      JSON.stringify({ manifests: [{ mediaType: image.mediaType, digest, size: bytes.length }] }),
    );
    const { error } = await refusal(`oci:${dir}`);
    expectOneLine(error, new RegExp(`manifest ${digest} is not valid JSON$`));
    expectNoSecret(error);
  });
});

describe('archives check an entry size from its header before reading it', () => {
  it.each([
    ['oci-archive', 'index.json'],
    ['docker-archive', 'manifest.json'],
  ])(
    '%s whose %s entry claims 1.5 GB (a sparse 4 KB file)',
    async (transport, name) => {
      const claimed = 1536 * 2 ** 20;
      const path = join(await testdir(), 'sparse.tar');
      await writeFile(
        path,
        Buffer.concat([
          tarOfFiles({ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}' }).subarray(0, 2 * BLOCK),
          rawHeader({ name, size: claimed }),
        ]),
      );
      await truncate(path, 3 * BLOCK + claimed + endOfArchive().length);
      const { error, rssGrowth } = await refusal(`${transport}:${path}`);
      expectOneLine(error, new RegExp(`${name} is 1610612736 bytes, above the limit of 4194304`));
      expect(rssGrowth).toBeLessThan(MEMORY_BOUND);
    },
    HANG_BOUND_MS,
  );
});
