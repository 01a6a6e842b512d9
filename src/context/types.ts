/** What a file is, as `lstat`/`stat` see it. */
export type FileKind =
  'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'block-device' | 'character-device' | 'unknown';

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
  /** ServiceAccount the pipeline pods run as (`--service-account`, default `pipeline-runner`). */
  readonly serviceAccount: string;
  /** Name of the AWS credentials Secret (`--secret-name`, default `aws-ecr-credentials`). */
  readonly secretName: string;
  /** How long the Secret's credentials must stay valid, in ms (`--min-validity`, default 3h). */
  readonly minValidityMs: number;
  /** kubeconfig context (`--context`); the current one when absent. */
  readonly kubeContext?: string;
  /** The model is gated on Hugging Face: the pipeline needs `hfSecretName` (`--gated-model`). */
  readonly gatedModel: boolean;
  /** Secret holding the Hugging Face token (default `hf-hub-secret`), and its key (default `HF_TOKEN`). */
  readonly hfSecretName: string;
  readonly hfSecretKey: string;
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

/** Who AWS says the caller is. */
export interface AwsIdentity {
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
  /** When the credentials expire; absent for long-lived keys (or when the provider does not say). */
  readonly expiresAt?: Date;
}

/** Static AWS keys, e.g. read from a Secret, for {@link AwsAccess.identityOf}. */
export interface AwsKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** One row of `iam:SimulatePrincipalPolicy`. */
export interface PolicyDecision {
  readonly action: string;
  readonly resource: string;
  readonly decision: 'allowed' | 'implicitDeny' | 'explicitDeny';
}

/** A side-effect-free ECR call made to learn whether an action is allowed. */
export interface EcrProbe {
  readonly action: string;
  readonly outcome: 'allowed' | 'denied' | 'error';
  readonly detail?: string;
}

export interface EcrRepositoryInfo {
  readonly name: string;
  readonly uri: string;
  readonly imageTagMutability: string;
  /** Whether `tag` (when asked) is already in the repository. */
  readonly tagExists?: boolean;
}

/**
 * AWS for checks. Credentials come from the same chain as the commands (`--aws-profile`, env, SSO,
 * web identity), the region from `--aws-region`, env or the ECR URI. Nothing is loaded until a check
 * calls. Failures reject with a PreflightError-like message that already says what to do.
 */
export interface AwsAccess {
  /** `sts:GetCallerIdentity` with the resolved credentials, plus their expiry. */
  identity(): Promise<AwsIdentity>;
  /** `sts:GetCallerIdentity` with the given keys. */
  identityOf(keys: AwsKeys, region?: string): Promise<AwsIdentity>;
  /** `iam:SimulatePrincipalPolicy`; `{denied}` when the caller may not simulate. */
  simulate(
    principalArn: string,
    actions: readonly string[],
    resourceArns: readonly string[],
  ): Promise<readonly PolicyDecision[] | { readonly denied: string }>;
  /** GetAuthorizationToken, BatchCheckLayerAvailability of a zero digest and DescribeRepositories: nothing is written. */
  probeEcr(repository: {
    readonly account: string;
    readonly region: string;
    readonly name: string;
  }): Promise<readonly EcrProbe[]>;
  /** `ecr:DescribeRepositories` (and `DescribeImages` for `tag`); undefined when the repository does not exist. */
  describeRepository(repository: {
    readonly account: string;
    readonly region: string;
    readonly name: string;
    readonly tag?: string;
  }): Promise<EcrRepositoryInfo | undefined>;
  /** An ECR token for the registry, then `GET /v2/` on ECR's proxy endpoint with it. */
  ecrLogin(
    registryHost: string,
    region: string,
  ): Promise<{ readonly expiresAt: Date; readonly endpoint: string; readonly status: number }>;
}

/** A Secret for checks; values decoded. Never print a value: report keys, types and dates. */
export interface KubeSecret {
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, string>>;
}

/** Where the Kubernetes calls go. */
export interface KubeTargetInfo {
  readonly server: string;
  readonly context: string | undefined;
  /** The kubeconfig user name. */
  readonly user: string;
  readonly namespace: string | undefined;
  readonly inCluster: boolean;
}

/**
 * The Kubernetes API for checks, through the kubeconfig (`--context`) or in-cluster config. Reads
 * answer undefined for 404; other failures reject with a message naming the user and namespace.
 */
export interface KubeAccess {
  target(): Promise<KubeTargetInfo>;
  secret(namespace: string, name: string): Promise<KubeSecret | undefined>;
  serviceAccount(
    namespace: string,
    name: string,
  ): Promise<{ readonly annotations: Readonly<Record<string, string>> } | undefined>;
  nodes(): Promise<readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[]>;
  canI(verb: string, resource: string, namespace: string): Promise<boolean>;
  whoAmI(): Promise<string | undefined>;
  /** SelfSubjectReview made with `token` instead of the kubeconfig's credentials; rejects on 401. */
  reviewToken(token: string): Promise<string | undefined>;
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
  /** AWS access; the SDK is loaded on the first call. */
  readonly aws: AwsAccess;
  /** Kubernetes access; the kubeconfig is read on the first call. */
  readonly kube: KubeAccess;
}
