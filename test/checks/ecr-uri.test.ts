import { describe, expect, it } from 'vitest';
import check from '../../checks/ecr-uri.ts';
import { type CheckContext, type CheckOptions, type CheckResult, skip } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const DIGEST = `sha256:${'0f'.repeat(32)}`;

/** What the runner does before `run`: honour appliesTo. */
async function evaluate(ctx: CheckContext): Promise<CheckResult> {
  const applies = check.appliesTo?.(ctx) ?? true;
  if (applies !== true) return skip(applies === false ? 'does not apply here' : applies);
  return check.run(ctx);
}

function context(options: Partial<CheckOptions>): CheckContext {
  return fakeContext({ options });
}

describe('ecr-uri', () => {
  it.each([
    { name: 'no ECR_URI', options: {} },
    { name: 'an empty ECR_URI', options: { ecrUri: '' } },
  ])('skip: $name', async ({ options }) => {
    const reason = 'no ECR repository given: set ECR_URI or pass --ecr-uri';
    expect(await evaluate(context(options))).toEqual({ status: 'skip', reason });
    // run() must stand on its own too: a plugin host may call it without appliesTo.
    expect(await check.run(context(options))).toEqual({ status: 'skip', reason });
  });

  it.each<{ name: string; options: Partial<CheckOptions>; message: string; details: readonly string[] }>([
    {
      name: 'repository and tag, region matching AWS_REGION',
      options: { ecrUri: `${HOST}/team/model:v1`, awsRegion: 'eu-west-1' },
      message: 'ECR repository team/model, tag v1, account 123456789012, region eu-west-1',
      details: [`registry: ${HOST}`],
    },
    {
      name: 'no tag, AWS_REGION unset',
      options: { ecrUri: `docker://${HOST}/model` },
      message: 'ECR repository model, tag latest (none given), account 123456789012, region eu-west-1',
      details: [`registry: ${HOST}`, 'AWS_REGION is unset; the registry is in eu-west-1'],
    },
    {
      name: 'by digest on the FIPS endpoint',
      options: {
        ecrUri: `123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app@${DIGEST}`,
        awsRegion: 'us-gov-west-1',
      },
      message: 'ECR repository app, tag none (by digest), account 123456789012, region us-gov-west-1',
      details: [
        'registry: 123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com',
        `digest: ${DIGEST}`,
        'endpoint: FIPS',
      ],
    },
    {
      name: 'dual-stack',
      options: { ecrUri: '123456789012.dkr-ecr.us-east-1.on.aws/app:2', awsRegion: 'us-east-1' },
      message: 'ECR repository app, tag 2, account 123456789012, region us-east-1',
      details: ['registry: 123456789012.dkr-ecr.us-east-1.on.aws', 'endpoint: dual-stack (IPv4 and IPv6)'],
    },
    {
      name: 'China',
      options: { ecrUri: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ns/app:1', awsRegion: 'cn-north-1' },
      message: 'ECR repository ns/app, tag 1, account 123456789012, region cn-north-1',
      details: ['registry: 123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn'],
    },
  ])('pass: $name', async ({ options, message, details }) => {
    expect(await evaluate(context(options))).toEqual({ status: 'pass', message, details });
  });

  it.each([
    { name: 'quay.io', ecrUri: 'quay.io/x/y', reason: 'quay.io is not an ECR registry host' },
    { name: 'a local registry', ecrUri: 'localhost:5000/m', reason: 'localhost:5000 is not an ECR registry host' },
    {
      name: 'ECR Public',
      ecrUri: 'public.ecr.aws/team/app',
      reason: 'public.ecr.aws is ECR Public, not a private ECR registry',
    },
  ])('warn: not ECR: $name', async ({ ecrUri, reason }) => {
    const result = await evaluate(context({ ecrUri, awsRegion: 'eu-west-1' }));
    expect(result).toEqual({
      status: 'warn',
      message: `ECR_URI "${ecrUri}" is not an ECR repository (${reason}): the ECR-specific checks (token, repository, region) will not apply`,
      remediation:
        'If the pipeline pushes to ECR, point ECR_URI at the repository:\nexport ECR_URI=<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]',
    });
  });

  it.each([
    {
      name: 'uppercase repository: the lowercased form is offered',
      ecrUri: `${HOST}/Team/Model:v1`,
      reason: 'repository "Team/Model" has uppercase letters; ECR repository names are lowercase',
      remediation: `Use the corrected form (the shape is <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]):\nexport ECR_URI=${HOST}/team/model:v1`,
    },
    {
      name: 'a China region without .cn',
      ecrUri: '123456789012.dkr.ecr.cn-north-1.amazonaws.com/app',
      reason: 'cn-north-1 registries are under amazonaws.com.cn',
      remediation: 'export ECR_URI=123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app',
    },
    {
      name: 'a short account: only the expected shape',
      ecrUri: '12345.dkr.ecr.eu-west-1.amazonaws.com/app',
      reason: 'account ID "12345" is not 12 digits',
      remediation:
        'Write it as <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]:\nexport ECR_URI=<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag]',
    },
    {
      name: 'no repository',
      ecrUri: HOST,
      reason: `there is no repository after the registry host ${HOST}`,
      remediation: 'Write it as',
    },
    {
      name: 'a bad tag',
      ecrUri: `${HOST}/app:-v1`,
      reason:
        'tag "-v1" is not valid: a tag is 1-128 letters, digits, "_", "." or "-", and does not start with "." or "-"',
      remediation: 'Write it as',
    },
  ])('fail: invalid: $name', async ({ ecrUri, reason, remediation }) => {
    const result = await evaluate(context({ ecrUri }));
    if (result.status !== 'fail') throw new Error(`expected fail, got ${result.status}`);
    expect(result.message).toBe(`ECR_URI "${ecrUri}" is not a valid ECR repository URI: ${reason}`);
    expect(result.remediation).toContain(remediation);
  });

  it.each([
    {
      name: 'us-east-1 against an eu-west-1 registry',
      awsRegion: 'us-east-1',
      ecrUri: `${HOST}/app:v1`,
      uriRegion: 'eu-west-1',
    },
    {
      name: 'a commercial region against China',
      awsRegion: 'eu-west-1',
      ecrUri: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app',
      uriRegion: 'cn-north-1',
    },
  ])('fail: region mismatch: $name', async ({ awsRegion, ecrUri, uriRegion }) => {
    const result = await evaluate(context({ ecrUri, awsRegion }));
    if (result.status !== 'fail') throw new Error(`expected fail, got ${result.status}`);
    expect(result.message).toBe(
      `ECR_URI is in ${uriRegion} but AWS_REGION is ${awsRegion}: an ECR token from ${awsRegion} is refused by the ${uriRegion} registry`,
    );
    expect(result.remediation.split('\n')).toContain(`export AWS_REGION=${uriRegion}`);
    expect(result.remediation).toContain(`if the repository lives in ${awsRegion}, fix the region in ECR_URI`);
  });

  it('declares what it inspects, for --list', () => {
    expect(check).toMatchObject({ id: 'ecr-uri', scope: 'any' });
    expect(check.inspects).toContain('ECR_URI');
  });
});
