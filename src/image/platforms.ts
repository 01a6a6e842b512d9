import type { ImagePlatforms } from '../context/types.ts';
import { openSource } from './open-source.ts';
import type { ManifestNode } from './types.ts';

/** The platforms an archive or layout holds, from its index entries or its image config. */
export async function sourcePlatforms(spec: string, signal: AbortSignal): Promise<ImagePlatforms> {
  const image = await openSource(spec, { signal });
  try {
    const { root } = image;
    const platforms =
      root.children.length > 0
        ? root.children.map(platform).filter((p) => p !== undefined)
        : [platform(root)].filter((p) => p !== undefined);
    return { image: spec, digest: root.digest, kind: root.children.length > 0 ? 'index' : 'manifest', platforms };
  } finally {
    await image.close();
  }
}

function platform(node: ManifestNode): string | undefined {
  return node.platform;
}
