import type { ImageFiles } from '../context/types.ts';
import { platformMatches } from './platform.ts';
import { mergeLayers } from '../registry/image-files.ts';
import { openSource } from './open-source.ts';
import { type LayerEntry, layerEntries } from './tar-walk.ts';

/** The filesystem of an archive or layout image for one platform, from tar headers. */
export async function archiveImageFiles(spec: string, platform: string, signal: AbortSignal): Promise<ImageFiles> {
  const image = await openSource(spec, { signal });
  try {
    const candidates = image.root.children.length > 0 ? image.root.children : [image.root];
    const node = candidates.find((c) => c.platform === undefined || platformMatches(platform, c.platform));
    if (node === undefined) throw new Error(`${spec} has no ${platform} image (it offers ${candidates.map((c) => c.platform ?? '?').join(', ')})`);
    const [config, ...layerBlobs] = node.blobs;
    const chunks: Buffer[] = [];
    if (config !== undefined) for await (const chunk of config.open(0)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const parsed: unknown = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const inner: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'config') : undefined;
    const list = (key: string): string[] => {
      const value: unknown = typeof inner === 'object' && inner !== null ? Reflect.get(inner, key) : undefined;
      return Array.isArray(value) ? value.map(String) : [];
    };
    const layers: LayerEntry[][] = [];
    for (const blob of layerBlobs) layers.push(await layerEntries(blob, signal));
    return { image: spec, digest: node.digest, platform: node.platform ?? platform, entrypoint: list('Entrypoint'), cmd: list('Cmd'), files: mergeLayers(layers) };
  } finally {
    await image.close();
  }
}
