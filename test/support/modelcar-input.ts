import type { ModelcarBuildInput } from '../../src/commands/modelcar-build.ts';
import { testLog } from './push-helpers.ts';

/** A whole `modelcarBuild` input with the CLI's defaults for what a test does not care about. */
export function modelcarInput(
  input: Pick<ModelcarBuildInput, 'modelDir' | 'image' | 'base'> & Partial<ModelcarBuildInput>,
): ModelcarBuildInput {
  return {
    platforms: ['linux/amd64'],
    modelsPath: '/models',
    layerThreshold: 2 ** 20,
    maxLayers: 'auto',
    labels: {},
    cacheDir: undefined,
    useCache: false,
    uploadMode: 'stream',
    chunkSize: 2 ** 20,
    concurrency: 2,
    insecureRegistries: [],
    caFile: undefined,
    env: {},
    log: testLog(),
    signal: new AbortController().signal,
    ...input,
  };
}
