import {
  BatchCheckLayerAvailabilityCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListImagesCommand,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulator, startAwsEmulator } from './aws/server.ts';
import { type Identity, awsId } from './aws/state.ts';
import { request } from 'undici';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';

const ACCOUNT = '123456789012';
let aws: AwsEmulator;
let user: Identity;

beforeAll(async () => {
  aws = await startAwsEmulator();
  // The htpasswd registry below knows one password in advance; ECR would hand out a fresh one per call.
  aws.state.ecrStaticPassword = true;
  user = aws.state.addUser(ACCOUNT, 'pipeline');
  aws.state.addRepository(ACCOUNT, 'team/model');
  aws.state.addRole(ACCOUNT, 'ecr-push', { maxSessionDurationSeconds: 12 * 3600 });
});

afterAll(async () => {
  await aws.close();
});

function config(identity: Identity, region = 'eu-west-1', maxAttempts = 3) {
  return {
    region,
    endpoint: aws.url,
    maxAttempts,
    credentials: {
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken === undefined ? {} : { sessionToken: identity.sessionToken }),
    },
  };
}

describe('AWS emulator, through the real SDK v3 clients', () => {
  it('STS GetCallerIdentity answers for the signing identity', async () => {
    const out = await new STSClient(config(user)).send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/pipeline` });
  });

  it('rejects a bad signature and an unknown key with the real error codes', async () => {
    const forged = { ...user, secretAccessKey: `${user.secretAccessKey}x` };
    await expect(new STSClient(config(forged)).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    // Generated here, never registered with the emulator: a key it has not issued.
    const unknown = { ...user, accessKeyId: awsId('AKIA') };
    await expect(new ECRClient(config(unknown)).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('AssumeRole gives working session credentials; chaining from a session is capped at 1 h', async () => {
    const out = await new STSClient(config(user)).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
        RoleSessionName: 'preflight',
        DurationSeconds: 43200,
      }),
    );
    const creds = out.Credentials;
    expect(creds?.AccessKeyId).toMatch(/^ASIA/);
    const session = aws.state.identities.get(creds?.AccessKeyId ?? '');
    if (session === undefined) throw new Error('no session');
    const who = await new STSClient(config(session)).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/preflight`);
    await expect(
      new STSClient(config(session)).send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
          RoleSessionName: 'chained',
          DurationSeconds: 7200,
        }),
      ),
    ).rejects.toThrow(/exceeds the 1 hour session limit for roles assumed by role chaining/);
  });

  it('expired session credentials get ExpiredToken / ExpiredTokenException', async () => {
    const sso = aws.state.addSession(ACCOUNT, 'AWSReservedSSO_Dev', 'alice', 1);
    const later = aws.state.now;
    aws.state.now = () => new Date(Date.now() + 5000);
    try {
      await expect(new STSClient(config(sso)).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
        name: 'ExpiredToken',
      });
      await expect(new ECRClient(config(sso)).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
        name: 'ExpiredTokenException',
      });
    } finally {
      aws.state.now = later;
    }
  });

  it('ECR DescribeRepositories and BatchCheckLayerAvailability; a missing repository is RepositoryNotFoundException', async () => {
    const client = new ECRClient(config(user));
    const described = await client.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/model'] }));
    expect(described.repositories?.[0]).toMatchObject({ repositoryName: 'team/model', imageTagMutability: 'MUTABLE' });
    const checked = await client.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: 'team/model',
        layerDigests: [`sha256:${'0'.repeat(64)}`],
      }),
    );
    expect(checked.layers?.[0]?.layerAvailability).toBe('UNAVAILABLE');
    const error: unknown = await client
      .send(new DescribeRepositoriesCommand({ repositoryNames: ['team/none'] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RepositoryNotFoundException);
  });

  it('throttling is retried by the SDK; a fault beyond its attempts surfaces', async () => {
    aws.state.inject({
      operation: 'GetCallerIdentity',
      status: 400,
      code: 'Throttling',
      message: 'Rate exceeded',
      times: 2,
    });
    const out = await new STSClient(config(user)).send(new GetCallerIdentityCommand({}));
    expect(out.Account).toBe(ACCOUNT);
    aws.state.inject({
      operation: 'GetAuthorizationToken',
      status: 500,
      code: 'ServerException',
      message: 'boom',
      times: 5,
    });
    await expect(new ECRClient(config(user)).send(new GetAuthorizationTokenCommand({}))).rejects.toMatchObject({
      name: 'ServerException',
    });
    aws.state.faults.length = 0;
  });

  it('IAM SimulatePrincipalPolicy reports the configured decisions, or is denied itself', async () => {
    aws.state.decisions.set('ecr:PutImage', 'implicitDeny');
    const client = new IAMClient(config(user, 'us-east-1'));
    const out = await client.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
        ActionNames: ['ecr:InitiateLayerUpload', 'ecr:PutImage'],
        ResourceArns: ['arn:aws:ecr:eu-west-1:123456789012:repository/team/model'],
      }),
    );
    expect(out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ['ecr:InitiateLayerUpload', 'allowed'],
      ['ecr:PutImage', 'implicitDeny'],
    ]);
    aws.state.simulationDenied = true;
    await expect(
      client.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
          ActionNames: ['ecr:PutImage'],
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    aws.state.simulationDenied = false;
    aws.state.decisions.clear();
  });

  it('a signature dated beyond 15 minutes of the double clock is refused in the words of each protocol; the SDK corrects from Date', async () => {
    const clock = aws.state.now;
    const at = (offsetMs: number) => () => new Date(Date.now() + offsetMs);
    try {
      aws.state.now = at(24 * 3600_000);
      const expired = /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/;
      const query: unknown = await new STSClient(config(user, 'eu-west-1', 1))
        .send(new GetCallerIdentityCommand({}))
        .catch((e: unknown) => e);
      expect(query).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
      expect(query).toHaveProperty('message', expect.stringMatching(expired));
      const json: unknown = await new ECRClient(config(user, 'eu-west-1', 1))
        .send(new GetAuthorizationTokenCommand({}))
        .catch((e: unknown) => e);
      expect(json).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 400 } });
      expect(json).toHaveProperty('message', expect.stringMatching(expired));
      aws.state.now = at(-3600_000);
      await expect(new STSClient(config(user, 'eu-west-1', 1)).send(new GetCallerIdentityCommand({}))).rejects.toThrow(
        /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)$/,
      );
      // 14 minutes of skew is inside the window.
      aws.state.now = at(14 * 60_000);
      expect((await new STSClient(config(user, 'eu-west-1', 1)).send(new GetCallerIdentityCommand({}))).Account).toBe(
        ACCOUNT,
      );
      // With retries the SDK reads the double's Date header, corrects its clock and succeeds, as against AWS.
      aws.state.now = at(24 * 3600_000);
      const before = aws.state.calls.length;
      expect((await new STSClient(config(user)).send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
      expect(aws.state.calls.slice(before).map((c) => c.status)).toEqual([403, 200]);
    } finally {
      aws.state.now = clock;
    }
  });

  it('SimulatePrincipalPolicy: an action no policy allows is implicitDeny; a session ARN is InvalidInput', async () => {
    const client = new IAMClient(config(user, 'us-east-1'));
    const out = await client.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: `arn:aws:iam::${ACCOUNT}:user/pipeline`,
        ActionNames: ['ecr:PutImage', 's3:GetObject', 'ecr:NoSuchAction'],
      }),
    );
    expect(out.EvaluationResults?.map((r) => [r.EvalActionName, r.EvalDecision])).toEqual([
      ['ecr:PutImage', 'allowed'],
      ['s3:GetObject', 'implicitDeny'],
      ['ecr:NoSuchAction', 'implicitDeny'],
    ]);
    await expect(
      client.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: `arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/preflight`,
          ActionNames: ['ecr:PutImage'],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
      $metadata: { httpStatusCode: 400 },
      message: `Invalid Entity Arn: arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/preflight`,
    });
  });

  it('ECR lists what exists: unfiltered DescribeRepositories and DescribeImages, CreateRepository, ListImages', async () => {
    const client = new ECRClient(config(user));
    const created = await client.send(new CreateRepositoryCommand({ repositoryName: 'team/listed' }));
    expect(created.repository).toMatchObject({
      repositoryName: 'team/listed',
      registryId: ACCOUNT,
      repositoryUri: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/listed`,
    });
    await expect(client.send(new CreateRepositoryCommand({ repositoryName: 'team/listed' }))).rejects.toMatchObject({
      name: 'RepositoryAlreadyExistsException',
    });
    const all = await client.send(new DescribeRepositoriesCommand({}));
    expect(all.repositories?.map((r) => r.repositoryName)).toEqual(
      expect.arrayContaining(['team/model', 'team/listed']),
    );
    aws.state.repositories.get(`${ACCOUNT}/team/listed`)?.tags.add('v1');
    const images = await client.send(new DescribeImagesCommand({ repositoryName: 'team/listed' }));
    expect(images.imageDetails?.map((d) => d.imageTags)).toEqual([['v1']]);
    const untagged = await client.send(
      new DescribeImagesCommand({ repositoryName: 'team/listed', filter: { tagStatus: 'UNTAGGED' } }),
    );
    expect(untagged.imageDetails).toEqual([]);
    const ids = await client.send(new ListImagesCommand({ repositoryName: 'team/listed' }));
    expect(ids.imageIds?.map((id) => id.imageTag)).toEqual(['v1']);
    const missing: unknown = await client
      .send(new ListImagesCommand({ repositoryName: 'team/none' }))
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RepositoryNotFoundException);
    expect(missing).toMatchObject({
      message: `The repository with name 'team/none' does not exist in the registry with id '${ACCOUNT}'`,
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('a malformed JSON body is 400 SerializationException for that request; the double serves the next one', async () => {
    const client = new ECRClient(config(user));
    // Replaced before signing, so the signature is valid and the body is what the double must refuse.
    client.middlewareStack.add(
      (next) => async (args) => {
        const request: unknown = args.request;
        const body = '{"repositoryNames": [';
        if (typeof request === 'object' && request !== null && 'body' in request && 'headers' in request) {
          request.body = body;
          if (typeof request.headers === 'object' && request.headers !== null)
            Object.assign(request.headers, { 'content-length': String(Buffer.byteLength(body)) });
        }
        return next(args);
      },
      { step: 'build', name: 'malformBody' },
    );
    await expect(client.send(new DescribeRepositoriesCommand({}))).rejects.toMatchObject({
      name: 'SerializationException',
      $metadata: { httpStatusCode: 400 },
    });
    const described = await new ECRClient(config(user)).send(
      new DescribeRepositoriesCommand({ repositoryNames: ['team/model'] }),
    );
    expect(described.repositories?.[0]?.repositoryName).toBe('team/model');
  });

  describe('GetAuthorizationToken hands out credentials a real htpasswd registry accepts', () => {
    let registry: RegistryHandle;
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'htpasswd', username: 'AWS', password: aws.state.ecrPassword });
    });
    afterAll(async () => {
      await registry.stop();
    });

    it('GET /v2/ with the decoded token is 200, without it 401', async () => {
      const out = await new ECRClient(config(user)).send(new GetAuthorizationTokenCommand({}));
      const token = out.authorizationData?.[0]?.authorizationToken ?? '';
      expect(out.authorizationData?.[0]?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 11 * 3600_000);
      const ok = await request(`${registry.url}/v2/`, { headers: { authorization: `Basic ${token}` } });
      await ok.body.dump();
      expect(ok.statusCode).toBe(200);
      const anonymous = await request(`${registry.url}/v2/`);
      await anonymous.body.dump();
      expect(anonymous.statusCode).toBe(401);
    });
  });
});
