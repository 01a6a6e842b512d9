import type { EcrTokenSource } from '../registry/credentials.ts';
import { AwsError } from '../errors.ts';
import { type AwsCredentials, type AwsSettings, clientConfig, resolveRegion } from './clients.ts';
import { resolveCredentials } from './credentials.ts';
import { ecrHostRegion, isEcrHost } from './ecr-uri.ts';

/**
 * ECR registry tokens through `ecr:GetAuthorizationToken`, with the expiry ECR returns (12 hours as
 * documented, but never assumed). The transport caches a token until its margin.
 */
export class SdkEcrTokenSource implements EcrTokenSource {
  readonly #settings: (registryHost: string) => Promise<AwsSettings>;

  /** `settings(host)`: region and credentials for the registry's account and region. */
  constructor(settings: (registryHost: string) => Promise<AwsSettings>) {
    this.#settings = settings;
  }

  async token(registryHost: string): Promise<{ username: string; password: string; expiresAt: Date }> {
    const { username, password, expiresAt } = await ecrAuthorization(await this.#settings(registryHost), registryHost);
    return { username, password, expiresAt };
  }
}

/** `ecr:GetAuthorizationToken`: the registry login, its expiry and the proxy endpoint ECR names for it. */
export async function ecrAuthorization(
  settings: AwsSettings,
  registryHost: string,
): Promise<{ username: string; password: string; expiresAt: Date; proxyEndpoint: string }> {
  const { ECRClient, GetAuthorizationTokenCommand } = await import('@aws-sdk/client-ecr');
  const client = new ECRClient(clientConfig(settings, 'ECR'));
  try {
    const out = await client.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (data?.expiresAt === undefined || colon <= 0)
      throw new AwsError(`ECR returned no usable authorization token for ${registryHost}`);
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      expiresAt: data.expiresAt,
      proxyEndpoint: data.proxyEndpoint ?? `https://${registryHost}`,
    };
  } finally {
    client.destroy();
  }
}

export async function describeRepository(
  settings: AwsSettings,
  name: string,
  options: { readonly registryId?: string; readonly tag?: string | undefined } = {},
): Promise<{ name: string; imageTagMutability: string; uri: string; tagExists?: boolean } | undefined> {
  const {
    ECRClient,
    DescribeRepositoriesCommand,
    DescribeImagesCommand,
    ImageNotFoundException,
    RepositoryNotFoundException,
  } = await import('@aws-sdk/client-ecr');
  const client = new ECRClient(clientConfig(settings, 'ECR'));
  const registry = options.registryId === undefined ? {} : { registryId: options.registryId };
  try {
    const out = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [name], ...registry }));
    const repo = out.repositories?.[0];
    if (repo === undefined) return undefined;
    const info = {
      name: repo.repositoryName ?? name,
      imageTagMutability: repo.imageTagMutability ?? 'MUTABLE',
      uri: repo.repositoryUri ?? '',
    };
    if (options.tag === undefined) return info;
    try {
      const images = await client.send(
        new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageTag: options.tag }], ...registry }),
      );
      return { ...info, tagExists: (images.imageDetails ?? []).length > 0 };
    } catch (error) {
      if (error instanceof ImageNotFoundException) return { ...info, tagExists: false };
      throw error;
    }
  } catch (error) {
    if (error instanceof RepositoryNotFoundException) return undefined;
    throw error;
  } finally {
    client.destroy();
  }
}

/**
 * ECR authentication for the registry client: tokens for ECR hosts, in the host's region, with the
 * credentials of the SDK chain (resolved once, on the first ECR request: pushes to other registries
 * never load the SDK).
 */
export function ecrRegistryAuth(options: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly profile?: string | undefined;
}): { isEcrHost: (host: string) => boolean; tokens: EcrTokenSource } {
  let credentials: Promise<AwsCredentials> | undefined;
  return {
    isEcrHost,
    tokens: new SdkEcrTokenSource(async (host) => {
      credentials ??= resolveCredentials(options);
      // The token must come from the registry's own region, whatever AWS_REGION says.
      return {
        region: ecrHostRegion(host) ?? resolveRegion({ env: options.env }),
        credentials: await credentials,
        env: options.env,
      };
    }),
  };
}
