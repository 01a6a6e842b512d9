/**
 * Every known failure of preflight, in one table: a stable `code` that tests and JSON consumers can
 * match on (never the message), the exit code beside it, and the hint used when the thrower has no
 * better one. The CLI prints a known failure as one `error:` line plus its hint; only an
 * {@link InternalError} or something that is not a PreflightError at all is a bug (stack, "please
 * report"). Exit codes: 0 ok, 1 failure, 2 usage or config, 3/4 check results (not errors),
 * 130/143 interrupted.
 */
export const ERROR_CODES = {
  /** Bad flags or arguments. */
  usage: { exitCode: 2, hint: 'run with --help for usage' },
  /** Bad configuration: preflight.yaml, env values, plugins. */
  config: { exitCode: 2, hint: 'fix the configuration named above' },
  /** Credentials missing or unusable before any request (docker config, AWS chain). */
  credentials: { exitCode: 2, hint: 'log in again or point preflight at working credentials' },
  /** An input the user named cannot be used: a model folder, a base image, a modelcar that breaks the contract. */
  input: { exitCode: 2, hint: 'fix the input named above; nothing was pushed' },
  /** The connection failed: refused, reset, DNS, timeout. */
  network: { exitCode: 1, hint: 'check the host name, port, VPN and proxy settings' },
  /** The server's certificate is not trusted. */
  tls: { exitCode: 1, hint: 'pass the CA with --ca-file, or set NODE_EXTRA_CA_CERTS to a PEM file with it' },
  /** A registry answered with an error (after retries). */
  registry: { exitCode: 1, hint: 'the registry refused the request; run with --debug for the requests' },
  /** An AWS call failed. */
  aws: { exitCode: 1, hint: 'check the AWS identity and region; run with --debug for details' },
  /** A Kubernetes API call failed. */
  kube: { exitCode: 1, hint: 'check the cluster URL and login (oc login / kubectl config current-context)' },
  /** A file could not be read or written. */
  file: { exitCode: 1, hint: 'check that the path names a file in a folder this user may write' },
  /** An image or model changed or is damaged while preflight read it. */
  source: { exitCode: 1, hint: 'the source changed or is damaged: rebuild or copy it again' },
  /** SIGINT (130) or SIGTERM (143). */
  aborted: {
    exitCode: 130,
    hint: 'stopped before it finished: no image manifest that was not complete was pushed; run the command again to finish',
  },
  /** A broken invariant inside preflight. */
  internal: { exitCode: 1, hint: 'this is a bug in preflight' },
} as const satisfies Record<string, { readonly exitCode: number; readonly hint: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PreflightErrorOptions {
  readonly hint?: string | undefined;
  readonly cause?: unknown;
  /** Only where one class spans two exits (a file probe vs a failed write, a 403 vs a 500). */
  readonly exitCode?: number | undefined;
}

/** A known failure: printed as one line plus the hint, exit code from {@link ERROR_CODES}. */
export abstract class PreflightError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;
  private readonly explicitExit: number | undefined;

  constructor(message: string, options: PreflightErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.explicitExit = options.exitCode;
  }

  get exitCode(): number {
    return this.explicitExit ?? ERROR_CODES[this.code].exitCode;
  }

  /** The thrower's hint, or the table's for this code. */
  get hintText(): string {
    return this.hint ?? ERROR_CODES[this.code].hint;
  }
}

/** A broken invariant: the only PreflightError reported as a bug, with its stack. */
export class InternalError extends PreflightError {
  override readonly code = 'internal';
}

export class UsageError extends PreflightError {
  override readonly code = 'usage';
}

export class ConfigError extends PreflightError {
  override readonly code = 'config';
}

/** The run was interrupted by a signal: exit 128 + the signal number. */
export class AbortedError extends PreflightError {
  override readonly code = 'aborted';
  readonly signal: 'SIGINT' | 'SIGTERM';

  constructor(signal: 'SIGINT' | 'SIGTERM', options: { cause?: unknown } = {}) {
    super(`interrupted by ${signal}`, { ...options, exitCode: signal === 'SIGINT' ? 130 : 143 });
    this.signal = signal;
  }
}

/** The connection to `host:port` failed (refused, reset, DNS, timeout); see util/network-error.ts. */
export class NetworkError extends PreflightError {
  override readonly code: 'network' | 'tls' = 'network';
}

/** The certificate of `host:port` is not trusted; see util/network-error.ts. */
export class TlsError extends NetworkError {
  override readonly code = 'tls';
}

/** A registry answered with an error status; `ociCode` is the OCI error code (`BLOB_UNKNOWN`, `DENIED`, …). */
export class RegistryError extends PreflightError {
  override readonly code = 'registry';
  readonly status: number;
  readonly ociCode: string | undefined;
  /** The `Retry-After` header of a 429 or 503, for whoever decides when to try again. */
  readonly retryAfter: string | undefined;

  constructor(
    message: string,
    options: {
      status: number;
      ociCode?: string | undefined;
      hint?: string | undefined;
      retryAfter?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, options);
    this.status = options.status;
    this.ociCode = options.ociCode;
    this.retryAfter = options.retryAfter;
  }
}

/** What was read from a source does not match what it claims (a blob whose digest changed). */
export class SourceCorruptError extends RegistryError {}

/** Registry credentials (docker config, credential helpers) cannot be used. */
export class CredentialError extends PreflightError {
  override readonly code = 'credentials';
}

/** AWS credentials are missing, expired or rejected. */
export class AwsCredentialError extends PreflightError {
  override readonly code = 'credentials';
}

/** An AWS call failed for a reason other than the credentials. */
export class AwsError extends PreflightError {
  override readonly code = 'aws';
}

/** A Kubernetes API call that failed, described from its Status object: never the raw response. */
export class KubeApiError extends PreflightError {
  override readonly code = 'kube';
  /** HTTP status; 0 when the API could not be reached. */
  readonly status: number;
  /** The Status `reason` (`Conflict`, `AlreadyExists`, `Forbidden`, …). */
  readonly reason: string;

  constructor(
    message: string,
    options: { status: number; reason: string; hint?: string | undefined; exitCode?: number; cause?: unknown },
  ) {
    super(message, options);
    this.status = options.status;
    this.reason = options.reason;
  }
}

/**
 * An output file preflight cannot write. Exit 2 when the probe finds it before any work (the path
 * the user gave is unusable, like a bad flag: nothing was pushed); exit 1 when the write itself
 * fails afterwards (an I/O failure, like a registry's).
 */
export class FileWriteError extends PreflightError {
  override readonly code = 'file';
}

/** A model folder that cannot be built: missing, or holding what an image cannot carry. */
export class ModelDirError extends PreflightError {
  override readonly code = 'input';
}

/** A modelcar that would break the contract: refused before any upload, like a base without sh. */
export class ModelcarContractError extends PreflightError {
  override readonly code = 'input';
}

/** A base image that cannot carry a modelcar (missing, no platform, no sh). */
export class BaseImageError extends PreflightError {
  override readonly code = 'input';
}

/** A model file changed while it was read: what was planned is not what would be pushed. */
export class ModelChangedError extends PreflightError {
  override readonly code = 'source';
}

/**
 * A layer whose headers cannot be read: damaged, not a tar, or in a compression preflight cannot
 * walk. The checks report it as their finding about the image; `modelcar build` stops on it.
 */
export class LayerError extends PreflightError {
  override readonly code = 'source';
}
