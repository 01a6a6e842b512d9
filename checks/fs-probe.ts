import { dirname, join } from 'node:path';
import { type CheckContext, type FileStat, isFileSystemError } from '../src/plugin.ts';

/** What a write probe found: where it wrote, and the errno when it could not. */
export type ProbeOutcome =
  | { readonly ok: true; readonly where: string }
  | { readonly ok: false; readonly where: string; readonly code: string; readonly message: string };

/**
 * Create a uniquely named file in `dir` (exclusive, mode 0600) and remove it again. Mode bits alone
 * miss read-only mounts, ACLs, SELinux and full disks: only a real write tells what the kernel allows.
 */
export async function probeWrite(ctx: CheckContext, dir: string): Promise<ProbeOutcome> {
  // Exclusive create means a name clash fails instead of clobbering; the random part makes one unlikely.
  const unique = `${ctx.clock.now().getTime().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const path = join(dir, `.preflight-probe-${unique}`);
  try {
    await ctx.fs.writeFile(path, '', { mode: 0o600, exclusive: true });
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return { ok: false, where: dir, code: error.code, message: `creating a file in ${dir} fails with ${error.code}` };
  }
  try {
    await ctx.fs.remove(path);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return {
      ok: false,
      where: dir,
      code: error.code,
      message: `created ${path} but removing it fails with ${error.code}`,
    };
  }
  return { ok: true, where: dir };
}

/** `stat` that reports a filesystem error as a value, so a check can explain it instead of crashing. */
export async function statOrError(
  ctx: CheckContext,
  path: string,
): Promise<{ readonly stat: FileStat | undefined } | { readonly error: { code: string; message: string } }> {
  try {
    return { stat: await ctx.fs.stat(path) };
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return { error: { code: error.code, message: error.message } };
  }
}

/** The closest existing ancestor of `path` (itself included); `/` always exists. */
export async function nearestExisting(ctx: CheckContext, path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    const found = await statOrError(ctx, current);
    // An ancestor we cannot search through hides what is below it: keep climbing to one we can see.
    if ('stat' in found && found.stat !== undefined) return current;
    if (dirname(current) === current) return current;
  }
}

/**
 * Can the current uid write into `dir`, or create it? A missing directory is created by the tools
 * with mkdir -p, which needs the same write and search permission on the nearest existing ancestor
 * as creating a file there, so that ancestor is probed instead. The directory itself is not
 * created: `ctx.fs.remove` cannot remove directories, and a check must not leave one behind.
 */
export async function probeCreatable(
  ctx: CheckContext,
  dir: string,
): Promise<ProbeOutcome & { readonly exists: boolean }> {
  const where = await nearestExisting(ctx, dir);
  const found = await statOrError(ctx, where);
  if ('stat' in found && found.stat !== undefined && found.stat.kind !== 'directory') {
    return {
      ok: false,
      where,
      code: 'ENOTDIR',
      message: `${where} is a ${found.stat.kind}, not a directory`,
      exists: where === dir,
    };
  }
  return { ...(await probeWrite(ctx, where)), exists: where === dir };
}
