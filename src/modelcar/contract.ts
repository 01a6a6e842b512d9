import type { ImageFiles } from '../context/types.ts';

const SHELLS = ['bin/sh', 'usr/bin/sh'];

/**
 * What breaks a KServe modelcar, in words a user can act on: no /models or an empty one, no sh, an
 * ENTRYPOINT, model paths other uids cannot read. Used by the modelcar-contract check and after a build.
 */
export function modelcarContractProblems(image: ImageFiles): string[] {
  const problems: string[] = [];
  const models = image.files.filter((f) => f.path === 'models' || f.path.startsWith('models/'));
  if (models.length === 0) problems.push(`${image.image} has no /models`);
  else if (!models.some((f) => f.type === 'file' || f.type === 'symlink')) problems.push(`${image.image}: /models is empty`);
  if (!image.files.some((f) => SHELLS.includes(f.path))) problems.push(`${image.image} has no sh (KServe's modelcar sidecar runs a shell)`);
  if (image.entrypoint.length > 0) problems.push(`${image.image} has ENTRYPOINT ${JSON.stringify(image.entrypoint)}`);
  const unreadable = models.filter((f) => (f.type === 'file' && (f.mode & 0o004) === 0) || (f.type === 'dir' && (f.mode & 0o005) !== 0o005));
  if (unreadable.length > 0) {
    const names = unreadable.slice(0, 3).map((f) => `/${f.path} (${(f.mode & 0o777).toString(8).padStart(4, '0')})`);
    problems.push(`${image.image}: ${unreadable.length} model path(s) not readable by other uids: ${names.join(', ')}${unreadable.length > 3 ? ', …' : ''}`);
  }
  return problems;
}
