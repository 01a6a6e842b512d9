import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsCli, awsCliVersion, startAwsCli } from '../emulators/aws/cli.ts';
import { type AwsEmulator, startAwsEmulator } from '../emulators/aws/server.ts';
import { type Identity, awsId, secret } from '../emulators/aws/state.ts';
import type { CliResult } from '../support/cli.ts';

// What users run beside preflight, by Debian's aws CLI (installed by `npm run setup`) against the AWS
// double. Under CI=true a missing CLI fails these tests instead of skipping them.
const ACCOUNT = '123456789012';
const version = awsCliVersion();
let aws: AwsEmulator;
let cli: AwsCli;
let user: Identity;

beforeAll(async () => {
  aws = await startAwsEmulator();
  cli = await startAwsCli(aws);
  user = aws.state.addUser(ACCOUNT, 'pipeline');
  aws.state.addRole(ACCOUNT, 'ecr-push');
  const model = aws.state.addRepository(ACCOUNT, 'team/model');
  aws.state.putImage(
    model,
    {
      digest: `sha256:${'a'.repeat(64)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      manifest: Buffer.from('{}'),
      references: [],
      sizeInBytes: 1234,
      pushedAt: new Date(),
    },
    'v1',
  );
});

afterAll(async () => {
  await cli.close();
  await aws.close();
});

function json(result: CliResult): Record<string, unknown> {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
  const parsed: unknown = JSON.parse(result.stdout);
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`not a JSON object: ${result.stdout}`);
  return Object.fromEntries(Object.entries(parsed));
}

/** The CLI's own words for a service error: exit 254 and `An error occurred (CODE) when calling the OP operation[ (reached max retries: N)]: …`. */
function serviceError(result: CliResult, code: string, operation: string): string {
  expect(result.code, result.stderr).toBe(254);
  const match = new RegExp(
    `An error occurred \\(${code}\\) when calling the ${operation} operation(?: \\(reached max retries: \\d+\\))?: (.*)`,
  ).exec(result.stderr);
  expect(match, result.stderr).not.toBeNull();
  return match?.[1] ?? '';
}

// Each run starts a Python process (about a second idle, several on busy cores): a wide hang bound.
describe.runIf(version !== undefined || process.env.CI === 'true')(
  'the real aws CLI against the AWS double',
  { timeout: 900_000 },
  () => {
    it('is Debian’s aws CLI 2, and the name-lookup guard loads in it', async () => {
      expect(version).toMatch(/^aws-cli\/2\./);
      const result = await cli.run(user, ['sts', 'get-caller-identity']);
      expect(json(result)).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/pipeline` });
      expect(await cli.dnsLog()).toContain('guard loaded');
    });

    it('sts assume-role: 12 h from a user; chained from the session, more than 1 h is refused and 1 h works', async () => {
      const assumed = json(
        await cli.run(user, [
          'sts',
          'assume-role',
          '--role-arn',
          `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
          '--role-session-name',
          'cli',
          '--duration-seconds',
          '43200',
        ]),
      );
      expect(assumed).toMatchObject({ AssumedRoleUser: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/cli` } });
      const credentials = assumed.Credentials;
      if (typeof credentials !== 'object' || credentials === null || !('AccessKeyId' in credentials))
        throw new Error('no credentials');
      const session = aws.state.identities.get(String(credentials.AccessKeyId));
      if (session === undefined) throw new Error('the CLI printed credentials the double did not issue');
      expect(session.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 11.9 * 3600_000);
      const chain = (seconds: string) =>
        cli.run(session, [
          'sts',
          'assume-role',
          '--role-arn',
          `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
          '--role-session-name',
          'chained',
          '--duration-seconds',
          seconds,
        ]);
      expect(serviceError(await chain('7200'), 'ValidationError', 'AssumeRole')).toMatch(
        /exceeds the 1 hour session limit for roles assumed by role chaining/,
      );
      expect(json(await chain('3600'))).toMatchObject({
        AssumedRoleUser: { Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/chained` },
      });
    });

    it('ecr get-login-password prints a password the double issued', async () => {
      const result = await cli.run(user, ['ecr', 'get-login-password']);
      expect(result.code, result.stderr).toBe(0);
      expect(aws.state.ecrTokens.has(result.stdout.trim())).toBe(true);
    });

    it('ecr describe-repositories lists what exists; create-repository (the README fix) adds one; a missing name is RepositoryNotFoundException', async () => {
      const before = json(await cli.run(user, ['ecr', 'describe-repositories']));
      expect(before).toMatchObject({ repositories: [{ repositoryName: 'team/model', registryId: ACCOUNT }] });
      const created = json(await cli.run(user, ['ecr', 'create-repository', '--repository-name', 'team/new']));
      expect(created).toMatchObject({
        repository: {
          repositoryName: 'team/new',
          repositoryUri: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team/new`,
        },
      });
      const again = await cli.run(user, ['ecr', 'create-repository', '--repository-name', 'team/new']);
      serviceError(again, 'RepositoryAlreadyExistsException', 'CreateRepository');
      const after = json(await cli.run(user, ['ecr', 'describe-repositories']));
      expect(after.repositories).toEqual([
        expect.objectContaining({ repositoryName: 'team/model' }),
        expect.objectContaining({ repositoryName: 'team/new' }),
      ]);
      const missing = await cli.run(user, ['ecr', 'describe-repositories', '--repository-names', 'team/none']);
      expect(serviceError(missing, 'RepositoryNotFoundException', 'DescribeRepositories')).toBe(
        `The repository with name 'team/none' does not exist in the registry with id '${ACCOUNT}'`,
      );
    });

    it('ecr describe-images lists the images of a repository, by tag too; a missing tag is ImageNotFoundException', async () => {
      const all = json(await cli.run(user, ['ecr', 'describe-images', '--repository-name', 'team/model']));
      expect(all).toMatchObject({
        imageDetails: [{ imageDigest: `sha256:${'a'.repeat(64)}`, imageTags: ['v1'], imageSizeInBytes: 1234 }],
      });
      const byTag = json(
        await cli.run(user, [
          'ecr',
          'describe-images',
          '--repository-name',
          'team/model',
          '--image-ids',
          'imageTag=v1',
        ]),
      );
      expect(byTag).toMatchObject({ imageDetails: [{ imageTags: ['v1'] }] });
      const none = await cli.run(user, [
        'ecr',
        'describe-images',
        '--repository-name',
        'team/model',
        '--image-ids',
        'imageTag=v2',
      ]);
      serviceError(none, 'ImageNotFoundException', 'DescribeImages');
    });

    it('iam simulate-principal-policy: granted actions allowed, others implicitDeny; a session ARN is InvalidInput', async () => {
      const out = json(
        await cli.run(user, [
          'iam',
          'simulate-principal-policy',
          '--policy-source-arn',
          `arn:aws:iam::${ACCOUNT}:role/ecr-push`,
          '--action-names',
          'ecr:PutImage',
          's3:GetObject',
        ]),
      );
      expect(out).toMatchObject({
        EvaluationResults: [
          { EvalActionName: 'ecr:PutImage', EvalDecision: 'allowed' },
          { EvalActionName: 's3:GetObject', EvalDecision: 'implicitDeny' },
        ],
      });
      const session = await cli.run(user, [
        'iam',
        'simulate-principal-policy',
        '--policy-source-arn',
        `arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/cli`,
        '--action-names',
        'ecr:PutImage',
      ]);
      expect(serviceError(session, 'InvalidInput', 'SimulatePrincipalPolicy')).toBe(
        `Invalid Entity Arn: arn:aws:sts::${ACCOUNT}:assumed-role/ecr-push/cli`,
      );
    });

    it('a clock 24 h ahead of the CLI: Signature expired (the CLI does not correct its clock)', async () => {
      const clock = aws.state.now;
      aws.state.now = () => new Date(Date.now() + 24 * 3600_000);
      try {
        const sts = await cli.run(user, ['sts', 'get-caller-identity']);
        expect(serviceError(sts, 'SignatureDoesNotMatch', 'GetCallerIdentity')).toMatch(
          /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/,
        );
        const ecr = await cli.run(user, ['ecr', 'get-login-password']);
        expect(ecr.code).toBe(254);
        expect(ecr.stderr).toMatch(/\(InvalidSignatureException\).*Signature expired: /);
      } finally {
        aws.state.now = clock;
      }
    });

    it('nothing above reached the dead proxy or asked for a name', async () => {
      expect(cli.proxy.received).toEqual([]);
      expect((await cli.dnsLog()).filter((line) => line !== 'guard loaded')).toEqual([]);
    });

    it('without --endpoint-url the CLI goes to the dead proxy, not to the resolver: it fails closed', async () => {
      // Credentials the double never issued, so even the proxy's CONNECT line carries nothing of the tests'.
      const stranger: Identity = { ...user, accessKeyId: awsId('AKIA'), secretAccessKey: secret() };
      const result = await cli.runWithoutEndpoint(stranger, ['sts', 'get-caller-identity', '--region', 'eu-west-1']);
      expect(result.code).not.toBe(0);
      expect(cli.proxy.received.length).toBeGreaterThan(0);
      expect(cli.proxy.received[0]).toMatch(/^CONNECT sts\.eu-west-1\.amazonaws\.com:443 HTTP\/1\.[01]\r\n/);
      expect(cli.proxy.received.join('')).not.toContain(stranger.secretAccessKey);
      expect((await cli.dnsLog()).filter((line) => line !== 'guard loaded')).toEqual([]);
    });
  },
);
