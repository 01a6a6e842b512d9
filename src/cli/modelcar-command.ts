import { Command } from 'commander';
import type { ModelcarBuildInput } from '../commands/modelcar-build.ts';
import type { Terminal } from '../output/terminal.ts';
import { addOptions, type OptionValues, readOptions, required } from './options.ts';
import { UPLOAD_OPTIONS, uploadInput } from './push-command.ts';
import { pushWithOutputs } from './progress.ts';

/** The image rows `modelcar build` and `run` share (each adds --model-dir with its own rules). */
export const IMAGE_OPTIONS = [
  'image',
  'base',
  'platforms',
  'modelsPath',
  'layerThreshold',
  'maxLayers',
  'label',
  'cacheDir',
  'cache',
  ...UPLOAD_OPTIONS,
] as const;

const BUILD_OPTIONS = ['modelDir', ...IMAGE_OPTIONS, 'digestFile', 'output'] as const;

export function modelcarCommandDefinition(): Command {
  const build = addOptions(
    new Command('build').description(
      'build a KServe modelcar (base image + model files under /models) and stream it into the registry: no container engine, no temp disk',
    ),
    BUILD_OPTIONS,
  ).addHelpText(
    'after',
    `
--model-dir and --image are required.
Environment: SOURCE_DATE_EPOCH sets every mtime and the created time (default 0), so the
same directory always gives the same digest. Exit codes: 0 pushed, 1 registry or I/O failure,
2 bad input (nothing pushed), 130/143 interrupted.`,
  );
  return new Command('modelcar').description('KServe modelcar images').addCommand(build);
}

/** A build input from the image rows; `run` completes --image with --tag first. */
export function modelcarInput(
  values: OptionValues<(typeof IMAGE_OPTIONS)[number]>,
  modelDir: string,
  image: string,
): Omit<ModelcarBuildInput, 'env' | 'log' | 'signal' | 'onEvent'> {
  return {
    modelDir,
    image,
    base: values.base,
    platforms: values.platforms,
    modelsPath: values.modelsPath,
    layerThreshold: values.layerThreshold,
    maxLayers: values.maxLayers,
    labels: values.label,
    cacheDir: values.cache ? values.cacheDir : undefined,
    useCache: values.cache,
    ...uploadInput(values),
  };
}

export async function modelcarBuildAction(command: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const { values } = readOptions(command, BUILD_OPTIONS, term.io.env);
  const input = modelcarInput(values, required(values.modelDir, 'modelDir'), required(values.image, 'image'));
  const { modelcarBuild } = await import('../commands/modelcar-build.ts');
  // The modelcar contract is checked before any upload: a breach throws (exit 2, nothing pushed).
  await pushWithOutputs(term, values, (onEvent) =>
    modelcarBuild({ ...input, env: term.io.env, log: term, signal, onEvent }),
  );
  return 0;
}
