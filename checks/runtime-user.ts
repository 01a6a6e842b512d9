import { join } from 'node:path';
import { type CheckContext, defineCheck, fail, pass, warn } from '../src/plugin.ts';
import { probeCreatable } from './fs-probe.ts';
import { homeDir, stepEnvYaml } from './paths.ts';

const HOME_TMP = `Give the step a writable HOME, in the step env:\n${stepEnvYaml({ HOME: '/tmp' })}`;

const PASSWD_ENTRY = [
  HOME_TMP,
  'or give the uid a passwd entry at start-up, as OpenShift documents for arbitrary user IDs: make /etc/passwd group-writable in the image (RUN chmod g=u /etc/passwd) and add the entry in the entrypoint:',
  'if ! whoami >/dev/null 2>&1; then echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${HOME:-/tmp}:/sbin/nologin" >> /etc/passwd; fi',
  '(or preload nss_wrapper with LD_PRELOAD=libnss_wrapper.so and NSS_WRAPPER_PASSWD pointing at a generated passwd file).',
].join('\n');

type HomeState = 'unset' | 'root' | 'writable' | 'not writable';

export default defineCheck({
  id: 'runtime-user',
  title: 'The pod uid has a usable identity and home',
  scope: 'pod',
  inspects: 'uid, gid, groups, passwd entry and a write probe of $HOME (OpenShift random-uid pitfalls)',
  async run(ctx) {
    const { uid, username } = ctx.user;
    const home = homeDir(ctx);
    const state = await homeState(ctx, home);
    const details = describe(ctx, home, state);
    const homeText =
      state === 'unset' ? 'HOME is unset' : state === 'root' ? 'HOME is /' : `HOME (${home ?? ''}) is ${state}`;
    if (username === undefined && state !== 'writable') {
      return fail(
        `uid ${uid} has no passwd entry and ${homeText}: tools that need a home fail (docker login: "mkdir ${join(home ?? '/', '.docker')}: permission denied", ssh: "No user exists for uid ${uid}")`,
        {
          remediation: PASSWD_ENTRY,
          details,
        },
      );
    }
    if (state !== 'writable') {
      return warn(
        `${homeText} for uid ${uid} (${username ?? 'no passwd entry'}): tools that write under ~ (docker login, pip, git) fail`,
        {
          remediation: HOME_TMP,
          details,
        },
      );
    }
    const who =
      username === undefined
        ? `uid ${uid} has no passwd entry (OpenShift random uid) but`
        : `uid ${uid} (${username}) has`;
    return pass(`${who} a writable HOME (${home ?? ''})`, { details });
  },
});

async function homeState(ctx: CheckContext, home: string | undefined): Promise<HomeState> {
  if (home === undefined) return 'unset';
  // The tools create ~/.docker, ~/.cache and the like: / is never a home the pod uid should write.
  if (home === '/') return 'root';
  return (await probeCreatable(ctx, home)).ok ? 'writable' : 'not writable';
}

function describe(ctx: CheckContext, home: string | undefined, state: HomeState): string[] {
  const { uid, gid, groups, username } = ctx.user;
  const inRootGroup = gid === 0 || groups.includes(0);
  return [
    `uid ${uid}${username === undefined ? ' (no passwd entry)' : ` (${username})`}`,
    `gid ${gid}, groups ${groups.length === 0 ? 'none' : groups.join(', ')}`,
    `HOME ${home ?? 'unset'} (${state})`,
    inRootGroup
      ? 'group 0 present, as OpenShift gives every pod uid: files and directories the step writes into must be group 0 and group-writable (chgrp -R 0 <dir> && chmod -R g=u <dir>)'
      : 'group 0 absent: permissions granted to group 0 in the image (chmod g=u) do not apply to this uid',
  ];
}
