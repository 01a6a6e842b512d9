import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.ts';
import { readDockerArchive } from './docker-archive.ts';
import { type ReadOptions, readLayout } from './layout.ts';
import { archiveStore, directoryStore } from './stores.ts';
import type { SourceImage } from './types.ts';

const FORMS = 'oci-archive:PATH[:ref], oci:DIR[:ref] or docker-archive:PATH[:repo:tag]';

/**
 * Open an image where it lies, without extracting or copying anything:
 * - `oci-archive:PATH[:ref]`: a tar of an OCI layout (`podman save --format oci-archive`);
 * - `oci:DIR[:ref]`: an OCI layout directory;
 * - `docker-archive:PATH[:repo:tag]`: `docker save` / `podman save` output.
 * As in skopeo, the path may itself contain colons: when the whole text names an existing file the
 * ref is empty, otherwise the ref starts after the path's last colon (docker-archive: the tag after
 * the path's first colon that leaves an existing file).
 * `options.signal` reaches every loop of the reading (a 50 GB archive's header scan included);
 * `options.limits` raises the size limit of index.json, manifest.json and configs.
 */
export async function openSource(spec: string, options: ReadOptions): Promise<SourceImage> {
  const colon = spec.indexOf(':');
  const transport = colon === -1 ? '' : spec.slice(0, colon);
  const rest = colon === -1 ? '' : spec.slice(colon + 1);
  if (!['oci-archive', 'oci', 'docker-archive'].includes(transport) || rest === '') {
    throw new UsageError(`"${spec}" is not an image source`, { hint: `use ${FORMS}` });
  }
  const { path, ref } = await splitPathAndRef(rest, transport === 'docker-archive' ? 'first' : 'last');
  const description = `${transport}:${path}`;
  const info = await statIfPresent(path);
  if (info === undefined)
    throw new UsageError(`${description}: no such ${transport === 'oci' ? 'directory' : 'file'}`, {
      hint: `check the path; the forms are ${FORMS}`,
    });
  if (transport === 'oci') {
    if (!info.isDirectory())
      throw new UsageError(`${description} is not a directory`, {
        hint: 'oci: takes an OCI layout directory; for a tar use oci-archive:PATH',
      });
    const root = await readLayout(directoryStore(path, description), ref, options);
    return { root, description, close: () => Promise.resolve() };
  }
  if (!info.isFile())
    throw new UsageError(`${description} is not a file`, { hint: 'for an OCI layout directory use oci:DIR' });
  const store = await archiveStore(path, description, options.signal);
  try {
    const root =
      transport === 'oci-archive'
        ? await readLayout(store, ref, options)
        : await readDockerArchive(store, ref, options);
    return { root, description, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Split `PATH[:REF]` at the colon that leaves an existing path, scanning from the end (or the start). */
async function splitPathAndRef(
  text: string,
  from: 'first' | 'last',
): Promise<{ path: string; ref: string | undefined }> {
  if (await exists(text)) return { path: text, ref: undefined };
  const colons = [...text.matchAll(/:/g)].map((m) => m.index);
  const ordered = from === 'last' ? colons.reverse() : colons;
  for (const at of ordered) {
    const path = text.slice(0, at);
    if (await exists(path)) return { path, ref: text.slice(at + 1) || undefined };
  }
  const at = from === 'last' ? text.lastIndexOf(':') : text.indexOf(':');
  return at === -1 ? { path: text, ref: undefined } : { path: text.slice(0, at), ref: text.slice(at + 1) || undefined };
}

async function exists(path: string): Promise<boolean> {
  return path !== '' && (await statIfPresent(path)) !== undefined;
}

async function statIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR'))
      return undefined;
    throw error;
  }
}
