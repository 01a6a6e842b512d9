import type { ImageFile, ImageFiles, Logger } from '../context/types.ts';
import { type LayerEntry, layerEntries } from '../image/tar-walk.ts';
import { packageVersion } from '../version.ts';
import { resolveBaseImage } from './base-image.ts';
import { createTransport } from './client.ts';
import { parseReference } from './reference.ts';

/** The filesystem of a registry image for one platform, from tar headers (see {@link layerEntries}). */
export interface ImageFilesOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly insecureRegistries?: readonly string[];
  readonly caFile?: string | undefined;
}

export async function registryImageFiles(
  image: string,
  platform: string,
  options: ImageFilesOptions,
): Promise<ImageFiles> {
  const ref = parseReference(image);
  const transport = await createTransport(ref.registry, {
    env: options.env,
    insecureRegistries: options.insecureRegistries ?? [],
    caFile: options.caFile,
    log: options.log,
    userAgent: `preflight/${packageVersion()}`,
  });
  try {
    const resolved = await resolveBaseImage(transport, ref.repository, ref.digest ?? ref.tag ?? 'latest', platform, {
      signal: options.signal,
      role: 'image',
    });
    const layers: LayerEntry[][] = [];
    for (const blob of resolved.blobs.slice(1)) layers.push(await layerEntries(blob, options.signal));
    const config = resolved.configJson.config;
    return {
      image,
      digest: resolved.manifest.digest,
      platform: resolved.platform,
      entrypoint: stringList(config, 'Entrypoint'),
      cmd: stringList(config, 'Cmd'),
      files: mergeLayers(layers),
    };
  } finally {
    await transport.close();
  }
}

/** Apply layers in order: `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory of lower layers. */
export function mergeLayers(layers: readonly (readonly LayerEntry[])[]): ImageFile[] {
  const files = new Map<string, ImageFile>();
  for (const layer of layers) {
    for (const entry of layer) {
      const slash = entry.path.lastIndexOf('/');
      const dir = slash === -1 ? '' : entry.path.slice(0, slash);
      const base = entry.path.slice(slash + 1);
      if (base === '.wh..wh..opq') {
        for (const path of files.keys()) if (path.startsWith(`${dir}/`)) files.delete(path);
      } else if (base.startsWith('.wh.')) {
        const gone = `${dir === '' ? '' : `${dir}/`}${base.slice(4)}`;
        for (const path of files.keys()) if (path === gone || path.startsWith(`${gone}/`)) files.delete(path);
      } else if (entry.path !== '') {
        files.set(entry.path, entry);
      }
    }
  }
  return [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function stringList(config: unknown, key: string): string[] {
  if (typeof config !== 'object' || config === null) return [];
  const value: unknown = Reflect.get(config, key);
  return Array.isArray(value) ? value.map(String) : [];
}
