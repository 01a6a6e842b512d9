import { normalize } from 'node:path';
import { type CheckContext, type CheckResult, defineCheck, fail, pass, warn } from '../src/plugin.ts';
import { probeWrite, statOrError } from './fs-probe.ts';
import { nonEmpty, octal } from './paths.ts';

const DEFAULT_DIR = '/kaniko';

const KEEP_DEFAULT = [
  'Keep the default /kaniko (drop --kaniko-dir and KANIKO_DIR) and make it mode 777, either in the executor image:',
  'FROM gcr.io/kaniko-project/executor:debug',
  'RUN ["/busybox/chmod", "777", "/kaniko"]',
  "or with an emptyDir at /kaniko (created mode 777), filled with the executor's files by an init container:",
  'volumes:',
  '  - name: kaniko',
  '    emptyDir: {}',
  'initContainers:',
  '  - name: kaniko-dir',
  '    image: gcr.io/kaniko-project/executor:debug',
  '    command: ["/busybox/sh", "-c", "cp -r /kaniko/. /mnt/kaniko/"]',
  '    volumeMounts:',
  '      - name: kaniko',
  '        mountPath: /mnt/kaniko',
  'containers:',
  '  - name: build',
  '    image: gcr.io/kaniko-project/executor:debug',
  '    volumeMounts:',
  '      - name: kaniko',
  '        mountPath: /kaniko',
].join('\n');

export default defineCheck({
  id: 'kaniko-dir',
  title: 'Kaniko directory is writable by the pod uid',
  scope: 'pod',
  inspects: 'KANIKO_DIR or /kaniko: existence, a real write probe, mode 777',
  appliesTo(ctx) {
    const builder = ctx.options.builder;
    if (builder === 'kaniko') return true;
    const now = builder === undefined ? 'builder is not set' : `builder is ${builder}`;
    return `${now}; pass --builder kaniko to check the Kaniko directory`;
  },
  async run(ctx) {
    const configured = nonEmpty(ctx.env.KANIKO_DIR);
    const dir = configured === undefined ? DEFAULT_DIR : normalize(configured).replace(/(.)\/$/, '$1');
    const uid = ctx.user.uid;
    if (dir !== DEFAULT_DIR) return movedDir(ctx, dir);
    const found = await statOrError(ctx, dir);
    if ('error' in found)
      return fail(`${dir} cannot be reached by uid ${uid}: ${found.error.message}`, { remediation: KEEP_DEFAULT });
    if (found.stat === undefined) {
      return fail(
        `${dir} does not exist: the step is not running the kaniko executor image, or the image lost /kaniko`,
        { remediation: KEEP_DEFAULT },
      );
    }
    const { kind, mode } = found.stat;
    if (kind !== 'directory') return fail(`${dir} is a ${kind}, not a directory`, { remediation: KEEP_DEFAULT });
    const owner = `mode ${octal(mode)}, owner ${found.stat.uid}:${found.stat.gid}`;
    // Creating and removing a file needs both write and search permission: one probe proves both.
    const probe = await probeWrite(ctx, dir);
    if (!probe.ok) {
      return fail(
        `${dir} is not writable by uid ${uid} (${owner}): kaniko cannot unpack the build context or write layers there`,
        {
          remediation: KEEP_DEFAULT,
          details: [probe.message],
        },
      );
    }
    if ((mode & 0o777) !== 0o777) {
      return warn(
        `${dir} is writable by uid ${uid} but its mode is ${octal(mode)}, not 777: a pod with another uid (each OpenShift namespace gets its own) cannot write it`,
        {
          remediation: KEEP_DEFAULT,
          details: [owner],
        },
      );
    }
    const sticky = (mode & 0o1000) !== 0 ? ' (sticky)' : '';
    return pass(`${dir} is writable by uid ${uid}, mode ${octal(mode)}${sticky}`, { details: [owner] });
  },
});

/**
 * A directory other than the image's /kaniko gets chowned by kaniko, and only root may chown: the
 * same flag that works on a laptop as root fails in a restricted pod.
 */
function movedDir(ctx: CheckContext, dir: string): CheckResult {
  const symptom = `--kaniko-dir=${dir} (KANIKO_DIR) fails under a random uid with "chown ${dir}: operation not permitted"`;
  if (ctx.user.uid !== 0) return fail(`uid ${ctx.user.uid}: ${symptom}`, { remediation: KEEP_DEFAULT });
  return warn(`${symptom}; it works as root only until the pod runs with a random uid (OpenShift restricted SCC)`, {
    remediation: KEEP_DEFAULT,
  });
}
