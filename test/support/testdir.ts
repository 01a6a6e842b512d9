import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import { fsyncFreeRoot } from './tmpfs.ts';

const created: string[] = [];

afterEach(async () => {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A temp dir filled with `files` (path → content), removed after the test. Inline fixtures keep
 * each test's inputs next to its assertions. `fsyncFree` puts it where a tool that fsyncs what it
 * writes (skopeo's layout destination) does not wait on a busy disk: see {@link fsyncFreeRoot}.
 */
export async function testdir(
  files: Record<string, string> = {},
  options: { readonly fsyncFree?: boolean } = {},
): Promise<string> {
  const root = options.fsyncFree === true ? await fsyncFreeRoot() : tmpdir();
  const dir = await mkdtemp(join(root, 'preflight-test-'));
  created.push(dir);
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  }
  return dir;
}
