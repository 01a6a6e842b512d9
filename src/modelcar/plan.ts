import { fileIdentity } from './file-identity.ts';
import type { TarEntry } from './layer-tar.ts';
import { type ReadStats, type VirtualTar, virtualTar } from './layer-tar.ts';
import type { ModelEntry } from './walk.ts';

/** Bump when the tar bytes for the same files would change: it invalidates every cached digest. */
export const TAR_LAYOUT_VERSION = 1;

export interface PlannedLayer {
  /** For messages and history: `models/ (dirs and 12 small files)` or `models/model-00001.safetensors`. */
  readonly description: string;
  readonly tar: VirtualTar;
  /** The entries of `tar`, in order: what the image will hold, known before a byte is read. */
  readonly entries: readonly TarEntry[];
  /** What the layer is made of (paths and file identities, layout version, epoch): the digest cache key. */
  readonly cacheKey: string;
  /**
   * `cacheKey` without the files' ctimes. A chown or chmod moves only ctime (kubelet applying a pod's
   * fsGroup does, at every mount), and so does an in-place rewrite that restores mtime: a hit here
   * alone says the layer is probably unchanged, never that its digest is known.
   */
  readonly weakKey: string;
  /** Model files in the layer, relative to the model dir. */
  readonly files: readonly string[];
}

export interface PlanOptions {
  /** Where the model goes in the image, e.g. `/models`. */
  readonly modelsPath: string;
  /** Files at or above this many bytes get a layer of their own. */
  readonly layerThreshold: number;
  /** Layers the model may take, at least 1 (the small-files layer included, the base's not); no limit when absent. */
  readonly maxLayers?: number | undefined;
  /** mtime of every entry, seconds (SOURCE_DATE_EPOCH or 0). */
  readonly epoch: number;
  /** Shared by every layer: model bytes read so far. */
  readonly stats?: ReadStats;
}

type ModelFile = Extract<ModelEntry, { kind: 'file' }>;

/**
 * Layers of a modelcar. First one layer with every directory (from `modelsPath` down), every symlink
 * and every file below the threshold; then one uncompressed layer per large file, in path order.
 * Uncompressed, so a layer's digest is its diff_id and no CPU goes into compressing weights that do
 * not compress; one file per layer, so files upload in parallel, unchanged files are shared between
 * model versions, and no layer nears ECR's 52,000 MiB limit unless one file does. Each large-file
 * layer repeats its parent directories, so any extraction order gives the same modes.
 *
 * When the large files outnumber `maxLayers - 1` (ECR refuses an image of more than 500 layers, and
 * only at the manifest, after every upload), they share layers instead: see {@link groupFiles}.
 */
export function planLayers(entries: readonly ModelEntry[], options: PlanOptions): PlannedLayer[] {
  const base = options.modelsPath.replace(/^\/+|\/+$/g, '');
  const inImage = (path: string): string => (base === '' ? path : `${base}/${path}`);
  const baseDirs = base === '' ? [] : ancestors(`${base}/x`);
  // No room beside the small-files layer: every file goes into it.
  const threshold = options.maxLayers === 1 ? Infinity : options.layerThreshold;
  const small: TarEntry[] = baseDirs.map((d) => ({ type: 'dir', name: `${d}/` }));
  const smallKeyed: ModelEntry[] = [];
  const smallFiles: string[] = [];
  const large: ModelFile[] = [];
  for (const entry of entries) {
    if (entry.kind === 'dir') {
      small.push({ type: 'dir', name: `${inImage(entry.path)}/` });
      smallKeyed.push(entry);
    } else if (entry.kind === 'symlink') {
      small.push({ type: 'symlink', name: inImage(entry.path), target: entry.target });
      smallKeyed.push(entry);
    } else if (entry.size >= threshold) {
      large.push(entry);
    } else {
      small.push({ type: 'file', name: inImage(entry.path), path: entry.absolute, ...fileIdentity(entry) });
      smallKeyed.push(entry);
      smallFiles.push(entry.path);
    }
  }
  const layer = (
    description: string,
    tarEntries: TarEntry[],
    keyEntries: readonly ModelEntry[],
    files: readonly string[],
  ): PlannedLayer => ({
    description,
    tar: virtualTar(tarEntries, options.epoch, options.stats),
    entries: tarEntries,
    ...layerKeys(keyEntries, [`epoch ${options.epoch}`, `base ${base}`]),
    files,
  });
  const layers = [
    layer(`${inImage('')}(directories, links and ${smallFiles.length} small files)`, small, smallKeyed, smallFiles),
  ];
  for (const group of groupFiles(large, options.maxLayers === undefined ? Infinity : options.maxLayers - 1)) {
    const tarEntries: TarEntry[] = [];
    const dirs = new Set<string>();
    for (const file of group) {
      const name = inImage(file.path);
      // Each layer repeats its files' parent directories, once each, so any extraction order gives the same modes.
      for (const dir of ancestors(name).filter((d) => !dirs.has(d))) {
        dirs.add(dir);
        tarEntries.push({ type: 'dir', name: `${dir}/` });
      }
      tarEntries.push({ type: 'file', name, path: file.absolute, ...fileIdentity(file) });
    }
    layers.push(
      layer(
        describeGroup(group.map((f) => inImage(f.path))),
        tarEntries,
        group,
        group.map((f) => f.path),
      ),
    );
  }
  return layers;
}

/**
 * Large files (in path order) as layers: one each when `room` allows, as before. Otherwise contiguous
 * runs, at most `room` of them, cut where the largest run is as small as it can be: balanced layers
 * upload in parallel and stay below ECR's 52,000 MiB when any cut can. Only the file list decides
 * the cuts, so the same files always give the same layers (the same digests, cache hits included).
 */
function groupFiles(files: readonly ModelFile[], room: number): ModelFile[][] {
  if (files.length <= room) return files.map((f) => [f]);
  const weights = files.map(weight);
  // The smallest cap whose greedy cut needs at most `room` runs (binary search: the run count only falls as the cap grows).
  let lo = weights.reduce((n, w) => Math.max(n, w), 0);
  let hi = weights.reduce((n, w) => n + w, 0);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (cut(weights, mid).length <= room) hi = mid;
    else lo = mid + 1;
  }
  return cut(weights, lo).map(([start, end]) => files.slice(start, end));
}

/** Greedy runs `[start, end)` of at most `cap` (a single heavier item stands alone). */
function cut(weights: readonly number[], cap: number): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let sum = 0;
  weights.forEach((w, i) => {
    if (i > start && sum + w > cap) {
      runs.push([start, i]);
      start = i;
      sum = 0;
    }
    sum += w;
  });
  if (start < weights.length) runs.push([start, weights.length]);
  return runs;
}

// A file's share of its layer's bytes: content padded to tar blocks, plus its header and a PAX header.
function weight(file: ModelFile): number {
  return Math.ceil(file.size / 512) * 512 + 2048;
}

function describeGroup(names: readonly string[]): string {
  const [first] = names;
  if (names.length === 1 && first !== undefined) return first;
  return `${first ?? ''} … ${names.at(-1) ?? ''} (${names.length} files)`;
}

/**
 * Both digest-cache keys of a layer made of `entries`, from one list so they cannot drift. The strong
 * key has ctime too: an in-place rewrite can restore size, mtime and inode, never ctime. The weak key
 * leaves ctime out and has a first line of its own, so it never equals a strong key.
 */
function layerKeys(
  entries: readonly ModelEntry[],
  header: readonly string[],
): Pick<PlannedLayer, 'cacheKey' | 'weakKey'> {
  const lines = (ctime: boolean): string[] => entries.map((entry) => entryKey(entry, ctime));
  return {
    cacheKey: [`preflight-modelcar-layer v${TAR_LAYOUT_VERSION}`, ...header, ...lines(true)].join('\n'),
    weakKey: [`preflight-modelcar-layer-without-ctime v${TAR_LAYOUT_VERSION}`, ...header, ...lines(false)].join('\n'),
  };
}

function entryKey(entry: ModelEntry, ctime: boolean): string {
  if (entry.kind === 'dir') return `d ${entry.path}`;
  if (entry.kind === 'symlink') return `l ${entry.path} ${entry.target}`;
  return `f ${entry.path} ${entry.size} ${entry.mtimeMs}${ctime ? ` ${entry.ctimeMs}` : ''} ${entry.ino} ${entry.dev}`;
}

/** `a/b/c` → `a`, `a/b` (the directories that must exist for `a/b/c`). */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
