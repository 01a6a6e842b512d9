import { closeSync, openSync, utimesSync, writeSync } from 'node:fs';

/**
 * Overwrite the start of `path` with `bytes` in place (same inode; the size is unchanged while
 * `bytes` fits) and set its mtime back to `mtime` seconds, as `touch -d` can: afterwards only ctime
 * tells that the file changed. Synchronous, so an upload's event handler can do it between two reads.
 */
export function rewriteInPlace(path: string, bytes: Buffer, mtime: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  utimesSync(path, mtime, mtime);
}
