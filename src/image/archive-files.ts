import type { ImageFiles } from '../context/types.ts';
import { UsageError } from '../errors.ts';
import { mergeLayers } from '../registry/image-files.ts';
import { untrustedJson } from '../util/json.ts';
import { readAll } from '../util/read-all.ts';
import { DEFAULT_DOCUMENT_BYTES } from './limits.ts';
import { openSource } from './open-source.ts';
import { platformMatches } from './platform.ts';
import { type LayerEntry, layerEntries } from './tar-walk.ts';
import type { BlobSource } from './types.ts';

/** The filesystem of an archive or layout image for one platform, from tar headers. */
export async function archiveImageFiles(spec: string, platform: string, signal: AbortSignal): Promise<ImageFiles> {
  const image = await openSource(spec, { signal });
  try {
    const candidates = image.root.children.length > 0 ? image.root.children : [image.root];
    const node = candidates.find((c) => c.platform === undefined || platformMatches(platform, c.platform));
    if (node === undefined)
      throw new UsageError(
        `${spec} has no ${platform} image (it offers ${candidates.map((c) => c.platform ?? '?').join(', ')})`,
      );
    const [config, ...layerBlobs] = node.blobs;
    const parsed = config === undefined ? {} : await readConfig(spec, config);
    const inner: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'config') : undefined;
    const list = (key: string): string[] => {
      const value: unknown = typeof inner === 'object' && inner !== null ? Reflect.get(inner, key) : undefined;
      return Array.isArray(value) ? value.map(String) : [];
    };
    const layers: LayerEntry[][] = [];
    for (const blob of layerBlobs) layers.push(await layerEntries(blob, signal));
    return {
      image: spec,
      digest: node.digest,
      platform: node.platform ?? platform,
      entrypoint: list('Entrypoint'),
      cmd: list('Cmd'),
      files: mergeLayers(layers),
    };
  } finally {
    await image.close();
  }
}

async function readConfig(spec: string, config: BlobSource): Promise<unknown> {
  const what = `${spec}: config ${config.digest ?? ''}`;
  const bytes = await readAll(
    config.open(0),
    DEFAULT_DOCUMENT_BYTES,
    () => new UsageError(`${what} is above the limit of ${DEFAULT_DOCUMENT_BYTES} bytes`),
  );
  return untrustedJson(bytes, (problem) => new UsageError(`${what} is ${problem}`));
}
