import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** `statfs().type` of a tmpfs (linux/magic.h). */
export const TMPFS_MAGIC = 0x01021994;

let root: Promise<string> | undefined;

/**
 * Where temp dirs go for tools that fsync what they write: tmpfs when the machine has one, else the
 * OS temp dir. distribution fsyncs the upload file on every PATCH, GET and PUT of an upload, and
 * skopeo every blob it stores in a layout; on a disk that other processes kept busy one fsync took
 * 59 s, and the tests waited on the disk, not on the code under test. On tmpfs an fsync returns at
 * once, and test images are small next to the memory.
 */
export function fsyncFreeRoot(): Promise<string> {
  root ??= statfs('/dev/shm').then(
    (shm) => (shm.type === TMPFS_MAGIC ? '/dev/shm' : tmpdir()),
    (error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return tmpdir();
      throw error;
    },
  );
  return root;
}
