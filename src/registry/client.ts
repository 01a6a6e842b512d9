import { readFile } from 'node:fs/promises';
import type { Logger } from '../context/types.ts';
import { ConfigError } from '../errors.ts';
import { type EcrTokenSource, type RegistryCredentials, lookupCredentials } from './credentials.ts';
import { apiHost } from './reference.ts';
import { isEcrHost } from '../aws/ecr-uri.ts';
import { RegistryTransport } from './transport.ts';

export interface ClientOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly insecureRegistries: readonly string[];
  readonly caFile: string | undefined;
  readonly log: Logger;
  /**
   * Supplies ECR tokens. By default an ECR host gets tokens from the AWS SDK's credential chain
   * (loaded only then): every reader and writer of an ECR image authenticates the same way, and no
   * code path can forget it. Tests inject their own.
   */
  readonly ecr?: { readonly isEcrHost: (host: string) => boolean; readonly tokens: EcrTokenSource };
  readonly userAgent: string;
}

/** A transport for `registry` with the credential chain: ECR token source, then docker/podman files. */
export async function createTransport(registry: string, options: ClientOptions): Promise<RegistryTransport> {
  const ca = await loadCa(options);
  return new RegistryTransport({
    registry: apiHost(registry),
    insecure: options.insecureRegistries.includes(registry),
    ...(ca === undefined ? {} : { ca }),
    credentials: credentialChain(registry, options),
    log: options.log,
    userAgent: options.userAgent,
  });
}

// Refresh five minutes early: a 48 GB push must not start a part with a token about to expire.
const ECR_MARGIN_MS = 5 * 60_000;

function credentialChain(
  registry: string,
  options: ClientOptions,
): (refresh: boolean) => Promise<RegistryCredentials | undefined> {
  let cached: RegistryCredentials | undefined;
  // Parallel uploads all meet the first 401 together: one lookup (one GetAuthorizationToken) serves them.
  let inFlight: Promise<RegistryCredentials | undefined> | undefined;
  let ecr = options.ecr;
  const lookup = async (): Promise<RegistryCredentials | undefined> => {
    ecr ??= isEcrHost(registry) ? (await import('../aws/ecr.ts')).ecrRegistryAuth({ env: options.env }) : undefined;
    if (ecr?.isEcrHost(registry) === true) {
      const token = await ecr.tokens.token(registry);
      cached = {
        username: token.username,
        password: token.password,
        expiresAt: token.expiresAt,
        source: 'ecr:GetAuthorizationToken',
      };
      options.log.debug(`${registry}: ECR token valid until ${token.expiresAt.toISOString()}`);
      return cached;
    }
    cached = await lookupCredentials(registry, { env: options.env });
    options.log.debug(
      `${registry}: ${cached === undefined ? 'no credentials found, trying anonymous' : `credentials from ${cached.source}`}`,
    );
    return cached;
  };
  let loaded = false;
  return async (refresh) => {
    const fresh = cached?.expiresAt === undefined || cached.expiresAt.getTime() - Date.now() > ECR_MARGIN_MS;
    if (loaded && !refresh && fresh) return cached;
    inFlight ??= lookup().finally(() => {
      inFlight = undefined;
      loaded = true;
    });
    return inFlight;
  };
}

/**
 * An explicit CA replaces Node's default store in undici, which would drop NODE_EXTRA_CA_CERTS:
 * read that file too, so both kinds of extra CA keep working together.
 */
async function loadCa(options: ClientOptions): Promise<string | undefined> {
  if (options.caFile === undefined) return undefined;
  const files = [
    options.caFile,
    ...(options.env.NODE_EXTRA_CA_CERTS === undefined ? [] : [options.env.NODE_EXTRA_CA_CERTS]),
  ];
  const pems: string[] = [];
  for (const file of files) {
    try {
      pems.push(await readFile(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read CA file ${file}: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'check the --ca-file path',
      });
    }
  }
  return pems.join('\n');
}
