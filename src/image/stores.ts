import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { UsageError } from '../errors.ts';
import { readAll } from '../util/read-all.ts';
import { layoutFile, readLayoutFile } from './directory-files.ts';
import type { BlobStore, StoredBlob } from './layout.ts';
import { type TarEntry, indexTar } from './tar-index.ts';

// 1 MiB reads: sha256 then runs at about 580 MiB/s on one core (4 MiB reads come close to 1 GB/s),
// still well above what a registry ingests (about 150 MB/s locally), while each of the parallel
// uploads holds about three chunks in flight: 4 MiB chunks cost some 40 MiB more peak RSS.
const READ_SIZE = 2 ** 20;

/** The files of an OCI layout directory: regular files inside it only (see {@link layoutFile}). */
export function directoryStore(dir: string, description: string): BlobStore {
  return {
    description,
    async readFile(path, limit) {
      const file = await layoutFile(dir, path, path, description);
      return file === undefined ? undefined : readLayoutFile(file, limit, path, description);
    },
    async blob(digest) {
      // Digests come checked from the schemas; this keeps any other text from naming a path.
      const [algorithm, hex] = digest.split(':');
      if (algorithm === undefined || hex === undefined || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex))
        return undefined;
      const file = await layoutFile(dir, join('blobs', algorithm, hex), `blob ${digest}`, description);
      return file === undefined ? undefined : fileRange(file.path, 0, file.size);
    },
  };
}

/** A tar archive read in place: entries are byte ranges of the one file, found from the headers alone. */
export interface ArchiveStore extends BlobStore {
  /** Any entry by name (docker-archive names layers by path). */
  entry(name: string): StoredBlob | undefined;
  close(): Promise<void>;
}

export async function archiveStore(path: string, description: string, signal: AbortSignal): Promise<ArchiveStore> {
  // The caller saw a regular file; the fstat below checks the file actually opened. (Not O_NONBLOCK:
  // it would turn the wait for a file lease, as a Samba or NFS server holds, into EAGAIN.)
  const handle = await open(path, 'r');
  let entries: Map<string, TarEntry>;
  try {
    if (!(await handle.stat()).isFile())
      throw new UsageError(`${description} is not a file`, { hint: 'for an OCI layout directory use oci:DIR' });
    entries = await indexTar(handle, description, signal);
  } finally {
    // Blobs are read with their own streams (one fd each, closed at their end): the handle only
    // served the header scan.
    await handle.close();
  }
  const entry = (name: string): StoredBlob | undefined => {
    const found = entries.get(name.replace(/^(\.\/)+/, ''));
    return found === undefined ? undefined : fileRange(path, found.offset, found.size);
  };
  return {
    description,
    entry,
    readFile: async (name, limit) => {
      const found = entry(name);
      if (found === undefined) return undefined;
      // The header says how big the entry is: a 1.5 GB claim is refused before a byte of it is read.
      const tooLarge = (): UsageError =>
        new UsageError(`${description}: ${name} is ${found.size} bytes, above the limit of ${limit}`, {
          hint: `${name} is a small JSON document; this one is damaged or not part of an image`,
        });
      if (found.size > limit) throw tooLarge();
      return readAll(found.open(0), limit, tooLarge);
    },
    blob: (digest) => Promise.resolve(entry(`blobs/${digest.replace(':', '/')}`)),
    close: () => Promise.resolve(),
  };
}

/** Bytes `start`…`start+size` of a file, from any offset inside that range. */
function fileRange(path: string, start: number, size: number): StoredBlob {
  return {
    size,
    open(offset) {
      if (offset >= size) return Readable.from([]);
      return createReadStream(path, { start: start + offset, end: start + size - 1, highWaterMark: READ_SIZE });
    },
  };
}
