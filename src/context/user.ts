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
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return { uid, gid, groups };
    throw error;
  }
}
