import {
  type CheckContext,
  type ImageFiles,
  defineCheck,
  fail,
  modelcarContractProblems,
  pass,
  skip,
} from '../src/plugin.ts';

const NO_IMAGES = 'no images given: pass --image REF for the modelcar to inspect';

export default defineCheck({
  id: 'modelcar-contract',
  title: 'Modelcar images meet the KServe modelcar contract',
  scope: 'any',
  inspects:
    'each --image: /models exists and holds files, the image has sh, no ENTRYPOINT, model files world-readable (tar headers only; uncompressed layers are read by Range, never downloaded)',
  appliesTo: (ctx) => (ctx.options.images.length === 0 ? NO_IMAGES : true),
  async run(ctx) {
    if (ctx.options.images.length === 0) return skip(NO_IMAGES);
    const problems: string[] = [];
    for (const image of ctx.options.images) problems.push(...(await inspect(ctx, image)));
    if (problems.length > 0) {
      return fail(problems.join('; '), {
        remediation: [
          'KServe runs a modelcar as a sidecar that links /models into the server container, so the image needs:',
          '- the model under /models, readable by any uid (OpenShift assigns a random one): files 0644, dirs 0755;',
          '- a shell (sh) and no ENTRYPOINT (KServe passes its own command);',
          'Build it with: preflight modelcar build --model-dir DIR --image REF (base busybox by default).',
        ].join('\n'),
      });
    }
    return pass(
      `${ctx.options.images.length === 1 ? 'the image meets' : `all ${ctx.options.images.length} images meet`} the modelcar contract (/models, sh, no ENTRYPOINT, world-readable)`,
    );
  },
});

async function inspect(ctx: CheckContext, image: string): Promise<string[]> {
  let files: ImageFiles;
  try {
    files = await ctx.registry.files(image, ctx.options.platform, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return [`cannot read ${image}: ${error instanceof Error ? error.message : String(error)}`];
  }
  return modelcarContractProblems(files);
}
