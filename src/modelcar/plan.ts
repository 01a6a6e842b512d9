import type { TarEntry } from './layer-tar.ts';
import { type ReadStats, type VirtualTar, virtualTar } from './layer-tar.ts';
import type { ModelEntry } from './walk.ts';

/** Bump when the tar bytes for the same files would change: it invalidates every cached digest. */
export const TAR_LAYOUT_VERSION = 1;

export interface PlannedLayer {
  /** For messages and history: `models/ (dirs and 12 small files)` or `models/model-00001.safetensors`. */
  readonly description: string;
  readonly tar: VirtualTar;
  /** What the layer is made of (paths, sizes, mtimes, inodes, layout version, epoch): the digest cache key. */
  readonly cacheKey: string;
  /** Model files in the layer, relative to the model dir. */
  readonly files: readonly string[];
}

export interface PlanOptions {
  /** Where the model goes in the image, e.g. `/models`. */
  readonly modelsPath: string;
  /** Files at or above this many bytes get a layer of their own. */
  readonly layerThreshold: number;
  /** mtime of every entry, seconds (SOURCE_DATE_EPOCH or 0). */
  readonly epoch: number;
  /** Shared by every layer: model bytes read so far. */
  readonly stats?: ReadStats;
}

/**
 * Layers of a modelcar. First one layer with every directory (from `modelsPath` down), every symlink
 * and every file below the threshold; then one uncompressed layer per large file, in path order.
 * Uncompressed, so a layer's digest is its diff_id and no CPU goes into compressing weights that do
 * not compress; one file per layer, so files upload in parallel, unchanged files are shared between
 * model versions, and no layer nears ECR's 52,000 MiB limit unless one file does. Each large-file
 * layer repeats its parent directories, so any extraction order gives the same modes.
 */
export function planLayers(entries: readonly ModelEntry[], options: PlanOptions): PlannedLayer[] {
  const base = options.modelsPath.replace(/^\/+|\/+$/g, '');
  const inImage = (path: string): string => (base === '' ? path : `${base}/${path}`);
  const baseDirs = base === '' ? [] : ancestors(`${base}/x`);
  const small: TarEntry[] = baseDirs.map((d) => ({ type: 'dir', name: `${d}/` }));
  const smallKey: string[] = [];
  const large: ModelEntry[] = [];
  for (const entry of entries) {
    if (entry.kind === 'dir') {
      small.push({ type: 'dir', name: `${inImage(entry.path)}/` });
      smallKey.push(`d ${entry.path}`);
    } else if (entry.kind === 'symlink') {
      small.push({ type: 'symlink', name: inImage(entry.path), target: entry.target });
      smallKey.push(`l ${entry.path} ${entry.target}`);
    } else if (entry.size >= options.layerThreshold) {
      large.push(entry);
    } else {
      small.push({ type: 'file', name: inImage(entry.path), path: entry.absolute, size: entry.size, mtimeMs: entry.mtimeMs });
      smallKey.push(fileKey(entry));
    }
  }
  const key = (lines: readonly string[]): string => [`preflight-modelcar-layer v${TAR_LAYOUT_VERSION}`, `epoch ${options.epoch}`, `base ${base}`, ...lines].join('\n');
  const smallFiles = entries.filter((e) => e.kind === 'file' && e.size < options.layerThreshold).map((e) => e.path);
  const layers: PlannedLayer[] = [
    { description: `${inImage('')}(directories, links and ${smallFiles.length} small files)`, tar: virtualTar(small, options.epoch, options.stats), cacheKey: key(smallKey), files: smallFiles },
  ];
  for (const file of large) {
    if (file.kind !== 'file') continue;
    const name = inImage(file.path);
    const dirs: TarEntry[] = ancestors(name).map((d) => ({ type: 'dir', name: `${d}/` }));
    const tarEntries: TarEntry[] = [...dirs, { type: 'file', name, path: file.absolute, size: file.size, mtimeMs: file.mtimeMs }];
    layers.push({ description: name, tar: virtualTar(tarEntries, options.epoch, options.stats), cacheKey: key([fileKey(file)]), files: [file.path] });
  }
  return layers;
}

function fileKey(entry: Extract<ModelEntry, { kind: 'file' }>): string {
  return `f ${entry.path} ${entry.size} ${entry.mtimeMs} ${entry.ino} ${entry.dev}`;
}

/** `a/b/c` → `a`, `a/b` (the directories that must exist for `a/b/c`). */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
