import {
  type Builder,
  type CheckContext,
  defineCheck,
  fail,
  isFileSystemError,
  pass,
  skip,
  warn,
} from '../src/plugin.ts';
import { formatBytes, kubernetesGi } from './format-size.ts';
import { nearestExisting } from './fs-probe.ts';
import { dockerConfigLocation, nonEmpty, tmpDir } from './paths.ts';

/** buildah, podman, skopeo and kaniko write the layers and the image archive to disk before pushing. */
const SPOOL_FACTOR = 2;
const SPOOLING: ReadonlySet<Builder> = new Set<Builder>(['kaniko', 'buildah', 'podman']);

interface Space {
  readonly role: string;
  readonly path: string;
  readonly measuredAt: string;
  readonly availableBytes: number | undefined;
}

export default defineCheck({
  id: 'scratch-space',
  title: 'Enough temp disk for the image build',
  scope: 'any',
  inspects: 'free space (statfs) on TMPDIR, the Docker config and model directories against the model size',
  async run(ctx) {
    const model = await modelBytes(ctx);
    if (model === undefined)
      return skip('model size unknown: pass --model-dir <dir> or --model-size <size> (e.g. 48GiB)');
    if ('error' in model) {
      return fail(`cannot measure the model in ${model.dir}: ${model.error}`, {
        remediation: `Point --model-dir at a directory uid ${ctx.user.uid} can read, or give the size instead:\npreflight check --model-size 48GiB`,
      });
    }
    const size = model.bytes;
    const need = size * SPOOL_FACTOR;
    const builder = ctx.options.builder;
    const tmp = await space(ctx, 'TMPDIR', tmpDir(ctx));
    // Kaniko also keeps the build context and layer tarballs in its own directory.
    const spool =
      builder === 'kaniko' ? [tmp, await space(ctx, 'kaniko dir', nonEmpty(ctx.env.KANIKO_DIR) ?? '/kaniko')] : [tmp];
    const others = await otherSpaces(ctx);
    const details = [
      `model: ${formatBytes(size)}${model.dir === undefined ? ' (--model-size)' : ` in ${model.dir}`}`,
      ...[...spool, ...others].map(describe),
    ];

    if (builder === 'preflight') {
      return pass(
        'builder preflight streams layers from the model directory to the registry: 0 bytes of scratch space needed',
        { details },
      );
    }
    const short = spool.find((s) => s.availableBytes === undefined || s.availableBytes < need);
    const needed = `${formatBytes(need)} (${SPOOL_FACTOR} × the ${formatBytes(size)} model)`;
    if (short === undefined) return pass(`${tmp.path} has ${freeText(tmp)} free, enough for ${needed}`, { details });
    const remediation = remediationFor(need, short.path);
    const problem = `${short.path} (${short.role}) has ${freeText(short)} free`;
    if (builder !== undefined && SPOOLING.has(builder)) {
      return fail(`${problem}; ${builder} spools up to ${needed} to temp disk and will run out`, {
        remediation,
        details,
      });
    }
    const both = `buildah, podman, skopeo and kaniko spool up to ${needed} to temp disk, while preflight's own push needs none`;
    return warn(`${problem}: ${both} (set --builder for a definite answer)`, { remediation, details });
  },
});

async function modelBytes(
  ctx: CheckContext,
): Promise<{ bytes: number; dir?: string } | { dir: string; error: string } | undefined> {
  const { modelSize, modelDir } = ctx.options;
  if (modelSize !== undefined) return { bytes: modelSize };
  if (modelDir === undefined) return undefined;
  try {
    return { bytes: (await ctx.fs.diskUsage(modelDir)).bytes, dir: modelDir };
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return { dir: modelDir, error: error.message };
  }
}

/** Not where builders spool, but worth showing: a full filesystem there breaks login or the model copy. */
async function otherSpaces(ctx: CheckContext): Promise<Space[]> {
  const out: Space[] = [];
  const docker = dockerConfigLocation(ctx);
  if (docker !== undefined) out.push(await space(ctx, 'Docker config', docker.dir));
  if (ctx.options.modelDir !== undefined) out.push(await space(ctx, 'model dir', ctx.options.modelDir));
  return out;
}

/** statfs of the filesystem that holds `path`, or would hold it once created. */
async function space(ctx: CheckContext, role: string, path: string): Promise<Space> {
  const measuredAt = await nearestExisting(ctx, path);
  try {
    return { role, path, measuredAt, availableBytes: (await ctx.fs.statfs(measuredAt)).availableBytes };
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return { role, path, measuredAt, availableBytes: undefined };
  }
}

function freeText(s: Space): string {
  return s.availableBytes === undefined ? 'an unknown amount of space' : formatBytes(s.availableBytes);
}

function describe(s: Space): string {
  const where = s.measuredAt === s.path ? s.path : `${s.path} (not created yet; measured at ${s.measuredAt})`;
  return `${s.role} ${where}: ${freeText(s)} free`;
}

function remediationFor(need: number, path: string): string {
  return [
    `Build with \`preflight modelcar build\` (it streams the layers from the PVC and needs no temp disk), or give the step at least ${formatBytes(need)} of scratch space:`,
    'resources:',
    '  requests:',
    `    ephemeral-storage: ${kubernetesGi(need)}`,
    '  limits:',
    `    ephemeral-storage: ${kubernetesGi(need)}`,
    `or mount a PVC of that size at ${path}:`,
    'volumeMounts:',
    '  - name: scratch',
    `    mountPath: ${path}`,
    'volumes:',
    '  - name: scratch',
    '    persistentVolumeClaim:',
    '      claimName: <scratch-pvc>',
  ].join('\n');
}
