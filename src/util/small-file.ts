import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { readAll } from './read-all.ts';

/** Why a small file could not be read whole; the caller turns it into its own one-line error. */
export class SmallFileError extends Error {
  readonly reason: 'not-a-file' | 'too-large';
  /** The size found, when the file is too large. */
  readonly size: number | undefined;

  constructor(reason: SmallFileError['reason'], path: string, limit: number, size?: number) {
    super(
      reason === 'not-a-file'
        ? `${path} is not a regular file`
        : `${path} is ${size === undefined ? `more than ${limit}` : size} bytes, above the limit of ${limit}`,
    );
    this.name = 'SmallFileError';
    this.reason = reason;
    this.size = size;
  }
}

/**
 * A small document (a config file, index.json) read whole from a regular file of at most `limit`
 * bytes. A path that leads to `/dev/zero`, a FIFO or a directory is refused on the opened
 * descriptor (so a swap after a check changes nothing), a file above the limit before a byte is
 * read, and the read itself is bounded, so a file that grows meanwhile still costs at most `limit`.
 * Not O_NONBLOCK: it would turn the wait for a file lease (a Samba or NFS server) into EAGAIN.
 * Errors of the open itself (ENOENT, EACCES, ELOOP with `noFollow`) pass through unchanged.
 */
export async function readSmallFile(
  path: string,
  limit: number,
  options: { readonly noFollow?: boolean } = {},
): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | (options.noFollow === true ? constants.O_NOFOLLOW : 0));
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SmallFileError('not-a-file', path, limit);
    if (info.size > limit) throw new SmallFileError('too-large', path, limit, info.size);
    return await readAll(
      handle.createReadStream({ autoClose: false }),
      limit,
      () => new SmallFileError('too-large', path, limit),
    );
  } finally {
    await handle.close();
  }
}
