import { userInfo } from 'node:os';
import type { UserInfo } from './types.ts';

/**
 * Who we run as. OpenShift's random uid has no passwd entry: `os.userInfo()` then throws, which is
 * exactly the fact the runtime-user check needs, so it becomes `username: undefined`.
 */
export function currentUser(): UserInfo {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const groups = process.getgroups?.() ?? [];
  try {
    const info = userInfo();
    return { uid, gid, groups, username: info.username, passwdHome: info.homedir };
  } catch (error) {
    if (isNoPasswdEntry(error)) return { uid, gid, groups };
    throw error;
  }
}

/** Node reports a missing entry as ERR_SYSTEM_ERROR with the errno in `info.code`. */
function isNoPasswdEntry(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if ('code' in error && error.code === 'ENOENT') return true;
  const info: unknown = 'info' in error ? error.info : undefined;
  return typeof info === 'object' && info !== null && 'code' in info && info.code === 'ENOENT';
}
