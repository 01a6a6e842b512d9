import type { AwsCredentials, AwsSettings } from '../aws/clients.ts';
import type { AwsAccess, CheckOptions, EcrProbe, Logger } from './types.ts';

const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

/**
 * AWS for checks: credentials resolved once, on the first call, from the same chain as the
 * commands; every SDK module imported on demand, so a run without AWS checks never loads it.
 */
export function lazyAwsAccess(input: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly options: CheckOptions;
  readonly log: Logger;
}): AwsAccess {
  let credentials: Promise<AwsCredentials> | undefined;
  const profile = input.options.awsProfile;

  async function settings(region?: string): Promise<AwsSettings> {
    const [{ resolveCredentials }, { resolveRegion }, { parseEcrUri }] = await Promise.all([
      import('../aws/credentials.ts'),
      import('../aws/clients.ts'),
      import('../aws/ecr-uri.ts'),
    ]);
    const parsed = input.options.ecrUri === undefined ? undefined : parseEcrUri(input.options.ecrUri);
    credentials ??= resolveCredentials({ profile, env: input.env });
    return {
      region:
        region ??
        resolveRegion({
          region: input.options.awsRegion,
          ecrRegion: parsed?.ok === true ? parsed.value.region : undefined,
          env: input.env,
        }),
      credentials: await credentials,
      env: input.env,
      maxAttempts: 3,
    };
  }

  async function explained<T>(action: string, work: () => Promise<T>): Promise<T> {
    const { explainAwsError } = await import('../aws/errors.ts');
    try {
      return await work();
    } catch (error) {
      throw explainAwsError(error, action, profile);
    }
  }

  return {
    identity: () =>
      explained('sts:GetCallerIdentity', async () => {
        const { getCallerIdentity } = await import('../aws/sts.ts');
        const s = await settings();
        const who = await getCallerIdentity(s);
        const expiration = typeof s.credentials === 'function' ? undefined : s.credentials.expiration;
        return { ...who, ...(expiration === undefined ? {} : { expiresAt: expiration }) };
      }),
    identityOf: (keys, region) =>
      explained('sts:GetCallerIdentity with the given credentials', async () => {
        const [{ getCallerIdentity }, { resolveRegion }] = await Promise.all([
          import('../aws/sts.ts'),
          import('../aws/clients.ts'),
        ]);
        return getCallerIdentity({
          region: region ?? resolveRegion({ region: input.options.awsRegion, env: input.env }),
          credentials: keys,
          env: input.env,
          maxAttempts: 2,
        });
      }),
    simulate: (principalArn, actions, resourceArns) =>
      explained('iam:SimulatePrincipalPolicy', async () => {
        const { simulatePrincipal } = await import('../aws/iam.ts');
        return simulatePrincipal(await settings(), { principalArn, actions, resourceArns });
      }),
    probeEcr: (repository) =>
      explained('ECR probes', async () => {
        const [
          { ECRClient, GetAuthorizationTokenCommand, BatchCheckLayerAvailabilityCommand, DescribeRepositoriesCommand },
          { clientConfig },
        ] = await Promise.all([import('@aws-sdk/client-ecr'), import('../aws/clients.ts')]);
        const client = new ECRClient(clientConfig(await settings(repository.region), 'ECR'));
        const probe = async (action: string, call: () => Promise<unknown>): Promise<EcrProbe> => {
          try {
            await call();
            return { action, outcome: 'allowed' };
          } catch (error) {
            const name = error instanceof Error ? error.name : '';
            const detail = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
            return {
              action,
              outcome: /AccessDenied/.test(name) ? 'denied' : 'error',
              detail: name === '' ? detail : `${name}: ${detail}`,
            };
          }
        };
        const target = { registryId: repository.account, repositoryName: repository.name };
        try {
          return await Promise.all([
            probe('ecr:GetAuthorizationToken', () => client.send(new GetAuthorizationTokenCommand({}))),
            probe('ecr:BatchCheckLayerAvailability', () =>
              client.send(new BatchCheckLayerAvailabilityCommand({ ...target, layerDigests: [ZERO_DIGEST] })),
            ),
            probe('ecr:DescribeRepositories', () =>
              client.send(
                new DescribeRepositoriesCommand({ registryId: repository.account, repositoryNames: [repository.name] }),
              ),
            ),
          ]);
        } finally {
          client.destroy();
        }
      }),
    describeRepository: (repository) =>
      explained(`ecr:DescribeRepositories ${repository.name}`, async () => {
        const { describeRepository } = await import('../aws/ecr.ts');
        return describeRepository(await settings(repository.region), repository.name, {
          registryId: repository.account,
          tag: repository.tag,
        });
      }),
    ecrLogin: (registryHost, region) =>
      explained(`ecr:GetAuthorizationToken for ${registryHost}`, async () => {
        const [{ ecrAuthorization }, { request }] = await Promise.all([import('../aws/ecr.ts'), import('undici')]);
        const login = await ecrAuthorization(await settings(region), registryHost);
        const endpoint = login.proxyEndpoint.replace(/\/+$/, '');
        const authorization = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
        const response = await request(`${endpoint}/v2/`, {
          method: 'GET',
          headers: { authorization },
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        await response.body.dump();
        input.log.debug(`GET ${endpoint}/v2/ with the ECR token: ${response.statusCode}`);
        return { expiresAt: login.expiresAt, endpoint, status: response.statusCode };
      }),
  };
}
