import {
  type CheckContext,
  type CheckResult,
  type ImagePlatforms,
  defineCheck,
  fail,
  pass,
  platformMatches,
  skip,
  warn,
} from '../src/plugin.ts';

const NO_IMAGES =
  'no images given: pass --image REF (repeatable), --base-image or --builder-image, or set images/baseImage/builderImage in preflight.yaml';

export default defineCheck({
  id: 'image-architecture',
  title: 'Images are built for the target platform (no exec format error)',
  scope: 'any',
  inspects:
    'the manifest or index of each --image, --base-image and --builder-image (registry, oci-archive: or oci:), without pulling layers, against --platform',
  appliesTo: (ctx) => (imagesOf(ctx).length === 0 ? NO_IMAGES : true),
  async run(ctx) {
    const images = imagesOf(ctx);
    if (images.length === 0) return skip(NO_IMAGES);
    const target = ctx.options.platform;
    const inspected = await Promise.all(images.map((image) => inspect(ctx, image)));
    return summarise(target, inspected);
  },
});

type Inspected =
  { readonly image: string; readonly result: ImagePlatforms } | { readonly image: string; readonly error: string };

function imagesOf(ctx: CheckContext): string[] {
  const { images, baseImage, builderImage } = ctx.options;
  return [
    ...new Set([
      ...images,
      ...(baseImage === undefined ? [] : [baseImage]),
      ...(builderImage === undefined ? [] : [builderImage]),
    ]),
  ];
}

async function inspect(ctx: CheckContext, image: string): Promise<Inspected> {
  try {
    return { image, result: await ctx.registry.platforms(image, ctx.signal) };
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return { image, error: error instanceof Error ? error.message : String(error) };
  }
}

function summarise(target: string, inspected: readonly Inspected[]): CheckResult {
  const wrong: string[] = [];
  const unknown: string[] = [];
  const unreadable: string[] = [];
  for (const entry of inspected) {
    if ('error' in entry) unreadable.push(`${entry.image}: ${entry.error}`);
    else if (entry.result.platforms.length === 0) unknown.push(entry.image);
    else if (!entry.result.platforms.some((p) => platformMatches(target, p)))
      wrong.push(`${entry.image} is ${entry.result.platforms.join(', ')} only`);
  }
  if (wrong.length > 0) {
    return fail(
      `${wrong.join('; ')}: not ${target}. Nodes of that platform fail to start it with "exec format error"`,
      { remediation: rebuild(target) },
    );
  }
  if (unreadable.length > 0) {
    return fail(`could not read the manifest of ${unreadable.join('; ')}`, {
      remediation:
        'Check the reference and that you can pull it (registry login, DOCKER_CONFIG), then run the check again; a pipeline cannot pull what this check cannot read.',
    });
  }
  if (unknown.length > 0) {
    return warn(`${unknown.join(', ')} does not declare its platform, so it cannot be checked against ${target}`, {
      remediation: `Rebuild with an explicit platform so the image says what it runs on:\npodman build --platform ${target} -t IMAGE .`,
    });
  }
  const count = inspected.length;
  return pass(`${count === 1 ? 'the image offers' : `all ${count} images offer`} ${target}`);
}

function rebuild(target: string): string {
  return [
    `Build for the nodes' platform, not the laptop's (Apple Silicon builds linux/arm64 by default):`,
    `podman build --platform ${target} -t IMAGE .`,
    `docker buildx build --platform ${target} -t IMAGE --push .`,
    `For Kaniko add --custom-platform=${target}; for several platforms push an index (podman manifest, buildx --platform a,b).`,
  ].join('\n');
}
