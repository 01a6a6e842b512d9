import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Write through a temp file and rename, so a reader (a pipeline step) never sees half a file. */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(temp, data, { mode: 0o644 });
  await rename(temp, path);
}
