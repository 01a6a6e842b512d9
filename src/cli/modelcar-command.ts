import { Command, Option } from 'commander';
import { parseSize } from '../config/units.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_BASE } from '../modelcar/defaults.ts';
import { type PushFlags, parsePushNumbers } from './push-command.ts';

export interface ModelcarFlags extends Omit<PushFlags, 'output'> {
  readonly modelDir: string;
  readonly image: string;
  readonly base: string;
  readonly platform: string;
  readonly modelsPath: string;
  readonly layerThreshold: string;
  readonly maxLayers: string;
  readonly label: readonly string[];
  readonly cacheDir?: string;
  readonly cache: boolean;
  readonly output: 'text' | 'json';
}

export function modelcarCommandDefinition(): Command {
  const build = addModelcarOptions(
    new Command('build')
      .description(
        'build a KServe modelcar (base image + model files under /models) and stream it into the registry: no container engine, no temp disk',
      )
      .addOption(
        new Option('--model-dir <dir>', 'the model files, e.g. on the pipeline PVC')
          .env('MODEL_DIR')
          .makeOptionMandatory(),
      ),
  )
    .addOption(
      new Option(
        '--digest-file <path>',
        'write the pushed repo@sha256:… to this file (a pipeline output; mode 0644, the next step may run as another uid)',
      ),
    )
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      '\nEnvironment: SOURCE_DATE_EPOCH sets every mtime and the created time (default 0), so the\nsame directory always gives the same digest. Exit codes: 0 pushed, 1 registry or I/O failure,\n2 bad input (nothing pushed).',
    );
  return new Command('modelcar').description('KServe modelcar images').addCommand(build);
}

/** The image and upload flags `modelcar build` and `run` share (not --model-dir, whose rules differ). */
export function addModelcarOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--image <ref>', 'where to push, with a tag, e.g. $ECR_URI:mistral-24b').makeOptionMandatory(),
    )
    .addOption(
      new Option('--base <ref>', 'base image with sh, ln and sleep; pin it with @sha256:… in production').default(
        DEFAULT_BASE,
      ),
    )
    .addOption(
      new Option(
        '--platform <list>',
        'comma-separated os/arch; several give an image index sharing the model layers',
      ).default('linux/amd64'),
    )
    .addOption(new Option('--models-path <path>', 'where the model goes in the image').default('/models'))
    .addOption(
      new Option('--layer-threshold <size>', 'files this big or bigger get a layer of their own').default('64MiB'),
    )
    .addOption(
      new Option(
        '--max-layers <n>',
        "layers the image may have, the base's included; large files share layers when they would exceed it (auto: 500 on ECR, no limit elsewhere)",
      ).default('auto'),
    )
    .addOption(new Option('--label <key=value>', 'image label (repeatable)').argParser(collect).default([]))
    .addOption(
      new Option('--cache-dir <dir>', 'layer digest cache (default: $XDG_CACHE_HOME/preflight or ~/.cache/preflight)'),
    )
    .addOption(new Option('--no-cache', 'neither read nor write the digest cache'))
    .addOption(
      new Option('--upload-mode <mode>', 'chunked PATCHes, one streamed PATCH, or auto (chunked for ECR)')
        .choices(['chunked', 'stream', 'auto'])
        .default('auto'),
    )
    .addOption(new Option('--chunk-size <size>', 'part size in chunked mode (ECR: 5MiB to 10MiB)').default('8MiB'))
    .addOption(new Option('--concurrency <n>', 'layers uploaded at once').default('4'))
    .addOption(
      new Option(
        '--insecure-registry <host>',
        'allow plain HTTP to this registry (loopback always allowed); repeatable',
      )
        .argParser(collect)
        .default([]),
    )
    .addOption(new Option('--ca-file <path>', 'extra CA certificates (PEM) to trust'));
}

/** Validate and convert the flags commander hands over as strings. */
export function parseModelcarFlags(flags: ModelcarFlags): {
  platforms: string[];
  layerThreshold: number;
  maxLayers: number | 'auto';
  labels: Record<string, string>;
  chunkSize: number;
  concurrency: number;
} {
  const platforms = flags.platform
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const platform of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(platform))
      throw new UsageError(`--platform: "${platform}" is not os/arch[/variant]`, {
        hint: 'e.g. --platform linux/amd64,linux/arm64',
      });
  }
  if (platforms.length === 0) throw new UsageError('--platform is empty', { hint: 'e.g. --platform linux/amd64' });
  const layerThreshold = parseSize(flags.layerThreshold);
  if (layerThreshold === undefined || layerThreshold < 1)
    throw new UsageError(`--layer-threshold: "${flags.layerThreshold}" is not a size`, {
      hint: 'e.g. --layer-threshold 64MiB',
    });
  const maxLayers = flags.maxLayers === 'auto' ? 'auto' : /^\d+$/.test(flags.maxLayers) ? Number(flags.maxLayers) : 0;
  if (maxLayers !== 'auto' && maxLayers < 1)
    throw new UsageError(`--max-layers: "${flags.maxLayers}" is not auto or a number of layers`, {
      hint: "e.g. --max-layers 500 (ECR's limit), or leave it at auto",
    });
  const labels: Record<string, string> = {};
  for (const label of flags.label) {
    const at = label.indexOf('=');
    if (at <= 0)
      throw new UsageError(`--label "${label}" is not key=value`, {
        hint: 'e.g. --label org.opencontainers.image.title=mistral-24b',
      });
    labels[label.slice(0, at)] = label.slice(at + 1);
  }
  return {
    platforms: [...new Set(platforms)],
    layerThreshold,
    maxLayers,
    labels,
    ...parsePushNumbers({ ...flags, output: 'text' }),
  };
}

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? previous.map(String) : []), value];
}
