import { createHash } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import { PRIVATE_FILE, writeFileAtomic } from '../util/atomic-file.ts';
import { sha256 } from '../util/sha256.ts';
import { digestSchema, sizeSchema } from './schemas.ts';

/** Where the digest cache lives: `--cache-dir`, else `$XDG_CACHE_HOME/preflight`, else `~/.cache/preflight`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'preflight');
  const home = env.HOME;
  // A random-uid pod often has HOME=/ (unwritable): no cache rather than a failed build.
  return home === undefined || home === '' || home === '/' ? undefined : join(home, '.cache', 'preflight');
}

const entrySchema = v.object({ digest: digestSchema, size: sizeSchema });
export type CachedDigest = v.InferOutput<typeof entrySchema>;

/**
 * Layer digests keyed by what the layer was made of (file list with sizes, mtimes, ctimes, inodes and
 * the tar layout version): an unchanged model is never hashed again (a layer whose files changed only
 * their ctime is hashed again, not uploaded: see src/modelcar/layer-digests.ts). The cache is an optimisation only: a
 * missing, unreadable or corrupt entry is a miss, and a failed write is ignored with a debug line.
 */
export interface DigestCache {
  get(key: string): Promise<CachedDigest | undefined>;
  set(key: string, value: CachedDigest): Promise<void>;
  /**
   * Facts about content-addressed things that cannot change (an image digest met the modelcar
   * contract): a re-push of the same image does not read its layers again to learn it.
   */
  verified(key: string): Promise<boolean>;
  markVerified(key: string): Promise<void>;
  /**
   * Small content-addressed documents (a base's platform manifest and config): a re-push of a
   * digest-pinned base does not fetch them again. Bytes that no longer hash to `digest` are a miss.
   */
  content(digest: string): Promise<CachedContent | undefined>;
  storeContent(digest: string, value: CachedContent): Promise<void>;
}

export interface CachedContent {
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** Larger documents are not worth a cache file (manifests are at most 4 MiB, configs a few KiB). */
const CONTENT_LIMIT = 4 * 2 ** 20;
const contentSchema = v.object({ mediaType: v.string(), data: v.string() });

export function openDigestCache(dir: string | undefined, log: { debug(message: string): void }): DigestCache {
  if (dir === undefined) {
    return {
      get: () => Promise.resolve(undefined),
      set: () => Promise.resolve(),
      verified: () => Promise.resolve(false),
      markVerified: () => Promise.resolve(),
      content: () => Promise.resolve(undefined),
      storeContent: () => Promise.resolve(),
    };
  }
  const root = join(dir, 'layer-digests');
  const file = (key: string): string => join(root, `${createHash('sha256').update(key).digest('hex')}.json`);
  const contents = join(dir, 'content');
  const contentFile = (digest: string): string | undefined =>
    v.is(digestSchema, digest) ? join(contents, `${digest.slice(7)}.json`) : undefined;
  const writeAtomically = async (target: string, text: string): Promise<void> => {
    try {
      // Private: the cache reveals which files a model has and which images were built.
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFileAtomic(target, text, PRIVATE_FILE);
    } catch (error) {
      log.debug(`digest cache: cannot write ${target}: ${String(error)}`);
    }
  };
  const readText = async (path: string): Promise<string | undefined> => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (!isMissing(error)) log.debug(`digest cache: cannot read ${path}: ${String(error)}`);
      return undefined;
    }
  };
  const facts = join(dir, 'verified');
  const fact = (key: string): string => join(facts, createHash('sha256').update(key).digest('hex'));
  return {
    async verified(key) {
      try {
        await access(fact(key));
        return true;
      } catch {
        return false;
      }
    },
    async markVerified(key) {
      await writeAtomically(fact(key), '');
    },
    async get(key) {
      const text = await readText(file(key));
      if (text === undefined) return undefined;
      const parsed = v.safeParse(entrySchema, safeJson(text));
      return parsed.success ? parsed.output : undefined;
    },
    async set(key, value) {
      await writeAtomically(file(key), JSON.stringify(value));
    },
    async content(digest) {
      const path = contentFile(digest);
      const text = path === undefined ? undefined : await readText(path);
      if (text === undefined) return undefined;
      const parsed = v.safeParse(contentSchema, safeJson(text));
      if (!parsed.success) return undefined;
      const bytes = Buffer.from(parsed.output.data, 'base64');
      return sha256(bytes) === digest ? { mediaType: parsed.output.mediaType, bytes } : undefined;
    },
    async storeContent(digest, value) {
      const path = contentFile(digest);
      if (path === undefined || value.bytes.length > CONTENT_LIMIT) return;
      await writeAtomically(path, JSON.stringify({ mediaType: value.mediaType, data: value.bytes.toString('base64') }));
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
