import type { ImageFiles } from '../context/types.ts';
import { ModelcarContractError } from '../errors.ts';
import { numeric } from '../image/tar-fields.ts';
import type { LayerEntry } from '../image/tar-walk.ts';
import type { TarEntry } from './layer-tar.ts';
import { BLOCK, tarHeader } from './tar-header.ts';

const SHELLS = ['bin/sh', 'usr/bin/sh'];

/** A modelcar that would break the contract: refused before any upload, like a base without sh. */
// Declared with every other error class in src/errors.ts (one table of codes).
export { ModelcarContractError };

/**
 * What breaks a KServe modelcar, in words a user can act on: no /models or an empty one, no sh, an
 * ENTRYPOINT, model paths other uids cannot read. Used by the modelcar-contract check, and by the
 * build on the image it is about to push.
 */
export function modelcarContractProblems(image: Pick<ImageFiles, 'image' | 'files' | 'entrypoint'>): string[] {
  const problems: string[] = [];
  const models = image.files.filter((f) => f.path === 'models' || f.path.startsWith('models/'));
  if (models.length === 0) problems.push(`${image.image} has no /models`);
  else if (!models.some((f) => f.type === 'file' || f.type === 'symlink'))
    problems.push(`${image.image}: /models is empty`);
  if (!image.files.some((f) => SHELLS.includes(f.path)))
    problems.push(`${image.image} has no sh (KServe's modelcar sidecar runs a shell)`);
  if (image.entrypoint.length > 0) problems.push(`${image.image} has ENTRYPOINT ${JSON.stringify(image.entrypoint)}`);
  const unreadable = models.filter(
    (f) => (f.type === 'file' && (f.mode & 0o004) === 0) || (f.type === 'dir' && (f.mode & 0o005) !== 0o005),
  );
  if (unreadable.length > 0) {
    const names = unreadable.slice(0, 3).map((f) => `/${f.path} (${(f.mode & 0o777).toString(8).padStart(4, '0')})`);
    problems.push(
      `${image.image}: ${unreadable.length} model path(s) not readable by other uids: ${names.join(', ')}${unreadable.length > 3 ? ', …' : ''}`,
    );
  }
  return problems;
}

/**
 * A planned layer's entries as a registry reader would list them, without reading a model byte. The
 * mode is read back from the header bytes the layer will carry, so the contract sees what is sent.
 */
export function plannedLayerEntries(entries: readonly TarEntry[]): LayerEntry[] {
  return entries.map((entry) => {
    const size = entry.type === 'file' ? entry.size : 0;
    const linkname = entry.type === 'symlink' ? entry.target : undefined;
    const header = tarHeader({
      name: entry.name,
      type: entry.type,
      size,
      mtime: 0,
      ...(linkname === undefined ? {} : { linkname }),
    });
    // The entry's own ustar block is the last one; a PAX header may precede it.
    const mode = numeric(header.subarray(header.length - BLOCK), 100, 8) & 0o7777;
    return {
      path: entry.name.replace(/\/+$/, ''),
      type: entry.type,
      mode,
      size,
      ...(linkname === undefined ? {} : { linkname }),
    };
  });
}
