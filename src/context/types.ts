/** What a file is, as `lstat`/`stat` see it. */
export type FileKind =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'block-device'
  | 'character-device'
  | 'unknown';

/** The facts of one file that checks need. */
export interface FileStat {
  readonly kind: FileKind;
  /** Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** One entry of a directory listing. */
export interface DirEntry {
  readonly name: string;
  readonly kind: FileKind;
}

/** Free and total bytes of the filesystem holding a path (statfs). */
export interface FsSpace {
  readonly availableBytes: number;
  readonly totalBytes: number;
}

/** Apparent size of a directory tree. */
export interface DiskUsage {
  readonly bytes: number;
  readonly files: number;
}

/**
 * The filesystem as a check sees it. Methods reject with a {@link FileSystemError} carrying the
 * errno code (`EACCES`, `ENOTDIR`, …); `stat`/`lstat` answer `undefined` for a missing path.
 */
export interface FileSystem {
  stat(path: string): Promise<FileStat | undefined>;
  lstat(path: string): Promise<FileStat | undefined>;
  readFile(path: string): Promise<string>;
  readDir(path: string): Promise<readonly DirEntry[]>;
  /** `exclusive` fails with EEXIST when the file exists (O_EXCL), so a probe never clobbers. */
  writeFile(path: string, data: string, options?: { mode?: number; exclusive?: boolean }): Promise<void>;
  remove(path: string): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean; mode?: number }): Promise<void>;
  /** access(2) for the current uid: what the kernel would allow, ACLs included. */
  canAccess(path: string, mode: 'read' | 'write' | 'execute'): Promise<boolean>;
  statfs(path: string): Promise<FsSpace>;
  /** Sum of regular file sizes below `path`, not following symlinks. */
  diskUsage(path: string): Promise<DiskUsage>;
}

/** The identity the process runs as. */
export interface UserInfo {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** From the passwd database; undefined when the uid has no entry (OpenShift random uid). */
  readonly username?: string;
  /** Home directory from the passwd entry, when there is one. */
  readonly passwdHome?: string;
}

/** Where preflight runs. */
export interface HostInfo {
  /** `linux`, `darwin`, … */
  readonly platform: string;
  /** `x64`, `arm64`, … as Node names them. */
  readonly arch: string;
}

/** Time, injectable so tests can pin it. */
export interface Clock {
  now(): Date;
}

/** Debug logging; shown with `--debug` only. Never pass secret values. */
export interface Logger {
  debug(message: string): void;
}

/** Container builders a pipeline may use. */
export type Builder = 'kaniko' | 'buildah' | 'podman' | 'preflight';

/**
 * Resolved options (flags > env > preflight.yaml). Every field a check reads comes from here or
 * `ctx.env`, never from `process`.
 */
export interface CheckOptions {
  readonly ecrUri?: string;
  readonly awsRegion?: string;
  readonly awsProfile?: string;
  readonly roleArn?: string;
  /** Kubernetes namespace of the pipeline (`DS_PROJECT`). */
  readonly namespace?: string;
  readonly dockerConfig?: string;
  readonly builder?: Builder;
  readonly modelDir?: string;
  /** Expected model size in bytes (`--model-size 48GiB`). */
  readonly modelSize?: number;
  /** Files or folders of pipeline manifests to inspect. */
  readonly manifests: readonly string[];
  /** Target platform of the images, `os/arch[/variant]`. */
  readonly platform: string;
  /** Images the pipeline runs or builds on (`--image`): registry references or `oci-archive:`/`oci:`/`docker-archive:` sources. */
  readonly images: readonly string[];
  /** The base image of the build (`FROM`), when configured. */
  readonly baseImage?: string;
  /** The builder's own image (Kaniko executor, buildah), when configured. */
  readonly builderImage?: string;
  /** Whether `KFP_TOKEN` was provided; the token itself is only in `ctx.env`. */
  readonly hasKfpToken: boolean;
}

/** What an image offers, read from its manifest or index without pulling a layer. */
export interface ImagePlatforms {
  /** The image as given. */
  readonly image: string;
  /** Digest of the manifest or index the reference resolved to. */
  readonly digest: string;
  readonly kind: 'index' | 'manifest';
  /** `os/arch[/variant]` of each image; empty when the source does not say. */
  readonly platforms: readonly string[];
}

/** A file of an image's merged filesystem, from the layers' tar headers. */
export interface ImageFile {
  /** Relative to the root, no leading slash: `models/config.json`, `bin/sh`. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  readonly mode: number;
  readonly size: number;
  readonly linkname?: string;
}

/** An image's filesystem and the config fields checks look at, read without downloading file contents. */
export interface ImageFiles {
  readonly image: string;
  /** Digest of the platform's image manifest. */
  readonly digest: string;
  readonly platform: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  /** Every layer merged in order, whiteouts applied, sorted by path. */
  readonly files: readonly ImageFile[];
}

/**
 * Read-only registry access for checks. Credentials come from the same chain as `preflight push`;
 * failures reject with an error whose message names the image and says what went wrong.
 */
export interface RegistryInspector {
  platforms(image: string, signal: AbortSignal): Promise<ImagePlatforms>;
  /** The merged filesystem of `image` for `platform`: tar headers only (uncompressed layers by Range). */
  files(image: string, platform: string, signal: AbortSignal): Promise<ImageFiles>;
}

/** Everything a check may use. Built once per run and shared by all checks. */
export interface CheckContext {
  /** Environment variables of the run (read-only copy). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly options: CheckOptions;
  /** The resolved scope of this run. */
  readonly scope: 'laptop' | 'pod';
  readonly fs: FileSystem;
  readonly user: UserInfo;
  readonly host: HostInfo;
  readonly clock: Clock;
  /** Aborted on timeout or Ctrl-C: pass it to every await that can take long. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Registry access; nothing is loaded or contacted until a check calls it. */
  readonly registry: RegistryInspector;
}
