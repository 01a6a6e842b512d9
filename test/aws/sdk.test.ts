import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AwsSettings } from '../../src/aws/clients.ts';
import { explain, resolveCredentials } from '../../src/aws/credentials.ts';
import { SdkEcrTokenSource, describeRepository } from '../../src/aws/ecr.ts';
import { assumeRole, getCallerIdentity } from '../../src/aws/sts.ts';
import { createTransport } from '../../src/registry/client.ts';
import { pushImage } from '../../src/registry/push.ts';
import { imageManifest, randomBlob, sourceImage } from '../support/blobs.ts';
import { testLog } from '../support/push-helpers.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { type AwsEmulator, startAwsEmulator } from '../emulators/aws/server.ts';
import type { Identity } from '../emulators/aws/state.ts';

const ACCOUNT = '123456789012';
let aws: AwsEmulator;
let user: Identity;

beforeAll(async () => {
  aws = await startAwsEmulator();
  // The htpasswd registry below knows one password in advance; ECR would hand out a fresh one per call.
  aws.state.ecrStaticPassword = true;
  user = aws.state.addUser(ACCOUNT, 'pipeline');
  aws.state.addRole(ACCOUNT, 'ecr-push');
  aws.state.addRepository(ACCOUNT, 'team/model', 'IMMUTABLE');
});

afterAll(async () => {
  await aws.close();
});

function settings(identity: Identity): AwsSettings {
  return {
    region: 'eu-west-1',
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken === undefined ? {} : { sessionToken: identity.sessionToken }),
    },
    env: { AWS_ENDPOINT_URL: aws.url },
    maxAttempts: 2,
  };
}

describe('src/aws against the emulator', () => {
  it('resolves env credentials through the SDK chain', async () => {
    for (const [name, value] of Object.entries(aws.env(user))) vi.stubEnv(name, value);
    try {
      const credentials = await resolveCredentials({ env: {} });
      expect(credentials.accessKeyId).toBe(user.accessKeyId);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('assumes a role for 12 h from user credentials', async () => {
    const caller = await getCallerIdentity(settings(user));
    const role = await assumeRole(settings(user), caller, {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
      durationSeconds: 43200,
      explicit: false,
      sessionName: 'preflight',
    });
    expect(role).toMatchObject({
      durationSeconds: 43200,
      capped: false,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/preflight`,
    });
  });

  it('from an SSO role session caps the default duration at 1 h, and explains an explicit longer one', async () => {
    const sso = aws.state.addSession(ACCOUNT, 'AWSReservedSSO_DataScience', 'alice', 3600);
    const caller = await getCallerIdentity(settings(sso));
    const role = await assumeRole(settings(sso), caller, {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
      durationSeconds: 43200,
      explicit: false,
      sessionName: 'preflight',
    });
    expect(role).toMatchObject({ durationSeconds: 3600, capped: true });
    expect(role.credentials.expiration.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    await expect(
      assumeRole(settings(sso), caller, {
        roleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
        durationSeconds: 43200,
        explicit: true,
        sessionName: 'preflight',
      }),
    ).rejects.toThrow(/is a role session, and a role assumed from one \("role chaining"\) lasts at most 1 hour/);
  });

  it('describes a repository, and says undefined for a missing one', async () => {
    expect(await describeRepository(settings(user), 'team/model')).toMatchObject({
      name: 'team/model',
      imageTagMutability: 'IMMUTABLE',
    });
    expect(await describeRepository(settings(user), 'team/none')).toBeUndefined();
  });

  it.each([
    [
      'Token is expired. To refresh this SSO session run aws sso login with the corresponding profile.',
      'dev',
      /the AWS SSO session of profile dev has expired/,
      'aws sso login --profile dev',
    ],
    [
      'The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login with the corresponding profile.',
      'dev',
      /has expired/,
      'aws sso login --profile dev',
    ],
    ['Could not load credentials from any providers', undefined, /no AWS credentials found/, 'aws sso login'],
    [
      "Profile 'nope' could not be found in shared credentials file.",
      'nope',
      /AWS profile nope is not in ~\/.aws\/config/,
      'aws configure sso',
    ],
  ])('explains "%s"', (message, profile, expected, hint) => {
    const error = explain(new Error(message), profile);
    expect(error.message).toMatch(expected);
    expect(error.hint).toContain(hint);
  });
});

describe('the uploader authenticates to "ECR" with a token from the SDK (end to end)', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', username: 'AWS', password: aws.state.ecrPassword });
  });
  afterAll(async () => {
    await registry.stop();
  });

  it('pushes with the GetAuthorizationToken password, asking ECR once', async () => {
    const before = aws.state.calls.filter((c) => c.operation === 'GetAuthorizationToken').length;
    const hosts: string[] = [];
    const tokens = new SdkEcrTokenSource((host) => {
      hosts.push(host);
      return Promise.resolve(settings(user));
    });
    const transport = await createTransport(registry.host, {
      env: {},
      insecureRegistries: [],
      caFile: undefined,
      log: testLog(),
      userAgent: 'test',
      ecr: { isEcrHost: () => true, tokens },
    });
    const image = imageManifest([randomBlob(200_000)]);
    const result = await pushImage(sourceImage(image), {
      transport,
      repository: 'team/model',
      tag: 'v1',
      mode: 'chunked',
      chunkSize: 65_536,
      concurrency: 2,
    });
    await transport.close();
    expect(result.digest).toBe(image.digest);
    expect(hosts).toEqual([registry.host]);
    expect(aws.state.calls.filter((c) => c.operation === 'GetAuthorizationToken').length - before).toBe(1);
  });
});
