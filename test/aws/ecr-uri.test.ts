import { describe, expect, it } from 'vitest';
import { type EcrUri, ecrHostRegion, isEcrHost, parseEcrUri } from '../../src/aws/ecr-uri.ts';
import * as pluginApi from '../../src/plugin.ts';

const ACCOUNT = '123456789012';
const HOST = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DIGEST = `sha256:${'ab12'.repeat(16)}`;

describe('parseEcrUri: valid ECR references', () => {
  it.each<{ input: string; value: EcrUri }>([
    {
      input: `${HOST}/team/model:v1`,
      value: {
        account: ACCOUNT,
        region: 'eu-west-1',
        fips: false,
        dualStack: false,
        partitionSuffix: 'amazonaws.com',
        host: HOST,
        repository: 'team/model',
        tag: 'v1',
      },
    },
    {
      input: `docker://${HOST}/model`,
      value: {
        account: ACCOUNT,
        region: 'eu-west-1',
        fips: false,
        dualStack: false,
        partitionSuffix: 'amazonaws.com',
        host: HOST,
        repository: 'model',
      },
    },
    {
      input: `https://${HOST}/a.b_c-d/e:V1.0_rc-1`,
      value: {
        account: ACCOUNT,
        region: 'eu-west-1',
        fips: false,
        dualStack: false,
        partitionSuffix: 'amazonaws.com',
        host: HOST,
        repository: 'a.b_c-d/e',
        tag: 'V1.0_rc-1',
      },
    },
    {
      input: `${ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/secure/app:1`,
      value: {
        account: ACCOUNT,
        region: 'us-gov-west-1',
        fips: true,
        dualStack: false,
        partitionSuffix: 'amazonaws.com',
        host: `${ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com`,
        repository: 'secure/app',
        tag: '1',
      },
    },
    {
      input: `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/ns/app:1.0`,
      value: {
        account: ACCOUNT,
        region: 'cn-north-1',
        fips: false,
        dualStack: false,
        partitionSuffix: 'amazonaws.com.cn',
        host: `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`,
        repository: 'ns/app',
        tag: '1.0',
      },
    },
    {
      input: `${ACCOUNT}.dkr-ecr.us-east-1.on.aws/app@${DIGEST}`,
      value: {
        account: ACCOUNT,
        region: 'us-east-1',
        fips: false,
        dualStack: true,
        partitionSuffix: 'on.aws',
        host: `${ACCOUNT}.dkr-ecr.us-east-1.on.aws`,
        repository: 'app',
        digest: DIGEST,
      },
    },
    {
      input: `${ACCOUNT}.dkr-ecr-fips.us-east-2.on.aws/app:latest@${DIGEST}`,
      value: {
        account: ACCOUNT,
        region: 'us-east-2',
        fips: true,
        dualStack: true,
        partitionSuffix: 'on.aws',
        host: `${ACCOUNT}.dkr-ecr-fips.us-east-2.on.aws`,
        repository: 'app',
        tag: 'latest',
        digest: DIGEST,
      },
    },
    {
      input: `${ACCOUNT}.DKR.ECR.EU-WEST-1.AMAZONAWS.COM/ab`,
      value: {
        account: ACCOUNT,
        region: 'eu-west-1',
        fips: false,
        dualStack: false,
        partitionSuffix: 'amazonaws.com',
        host: HOST,
        repository: 'ab',
      },
    },
  ])('$input', ({ input, value }) => {
    expect(parseEcrUri(input)).toEqual({ ok: true, value });
  });

  it('accepts a repository of exactly 256 characters', () => {
    const repository = `${'a'.repeat(127)}/${'b'.repeat(128)}`;
    const result = parseEcrUri(`${HOST}/${repository}`);
    expect(result.ok && result.value.repository).toBe(repository);
  });
});

describe('parseEcrUri: other registries are not-ecr', () => {
  it.each([
    { input: 'quay.io/x/y', reason: 'quay.io is not an ECR registry host' },
    { input: 'localhost:5000/m', reason: 'localhost:5000 is not an ECR registry host' },
    { input: 'docker.io/library/ubuntu:22.04', reason: 'docker.io is not an ECR registry host' },
    { input: 'ubuntu', reason: 'ubuntu is not an ECR registry host' },
    { input: `ghcr.io/org/img@${DIGEST}`, reason: 'ghcr.io is not an ECR registry host' },
    { input: 'public.ecr.aws/nginx/nginx:latest', reason: 'public.ecr.aws is ECR Public, not a private ECR registry' },
  ])('$input', ({ input, reason }) => {
    expect(parseEcrUri(input)).toEqual({ ok: false, kind: 'not-ecr', reason });
  });
});

describe('parseEcrUri: invalid ECR references name what is wrong', () => {
  it.each<{ name: string; input: string; reason: string; suggestion?: string }>([
    { name: 'empty', input: '', reason: 'it is empty' },
    { name: 'only a prefix', input: 'docker://', reason: 'it is empty' },
    { name: 'padded with spaces', input: ` ${HOST}/app `, reason: 'it contains whitespace', suggestion: `${HOST}/app` },
    { name: 'a space inside', input: `${HOST}/my app`, reason: 'it contains whitespace' },
    {
      name: 'an 11-digit account',
      input: '12345678901.dkr.ecr.eu-west-1.amazonaws.com/app',
      reason: 'account ID "12345678901" is not 12 digits',
    },
    {
      name: 'a named account',
      input: 'prod.dkr.ecr.eu-west-1.amazonaws.com/app',
      reason: 'account ID "prod" is not 12 digits',
    },
    {
      name: 'no account',
      input: '.dkr.ecr.eu-west-1.amazonaws.com/app',
      reason: 'the account ID is missing before .dkr',
    },
    {
      name: 'a region without its number',
      input: `${ACCOUNT}.dkr.ecr.eu-west.amazonaws.com/app`,
      reason: '"eu-west" is not an AWS region (expected e.g. us-east-1)',
    },
    { name: 'no repository', input: HOST, reason: `there is no repository after the registry host ${HOST}` },
    {
      name: 'a trailing slash only',
      input: `${HOST}/`,
      reason: `there is no repository after the registry host ${HOST}`,
    },
    {
      name: 'uppercase repository',
      input: `${HOST}/Team/Model:v1`,
      reason: 'repository "Team/Model" has uppercase letters; ECR repository names are lowercase',
      suggestion: `${HOST}/team/model:v1`,
    },
    {
      name: 'a one-character repository',
      input: `${HOST}/a`,
      reason: 'repository "a" is 1 character long; ECR allows 2 to 256',
    },
    {
      name: 'a 257-character repository',
      input: `${HOST}/${'a'.repeat(257)}`,
      reason: 'is 257 characters long; ECR allows 2 to 256',
    },
    {
      name: 'an empty path component',
      input: `${HOST}/team//model`,
      reason: 'repository "team//model" has an empty path component ("//")',
      suggestion: `${HOST}/team/model`,
    },
    {
      name: 'a trailing slash',
      input: `${HOST}/team/model/`,
      reason: 'repository "team/model/" starts or ends with "/"',
      suggestion: `${HOST}/team/model`,
    },
    {
      name: 'a double underscore (distribution allows it, ECR does not)',
      input: `${HOST}/a__b`,
      reason: 'repository "a__b" is not valid: path components are lowercase letters and digits',
    },
    { name: 'a leading dash', input: `${HOST}/-app`, reason: 'repository "-app" is not valid' },
    { name: 'an empty tag', input: `${HOST}/app:`, reason: 'the tag after ":" is empty', suggestion: `${HOST}/app` },
    {
      name: 'a tag starting with a dot',
      input: `${HOST}/app:.v1`,
      reason: 'tag ".v1" is not valid: a tag is 1-128 letters',
    },
    {
      name: 'a 129-character tag',
      input: `${HOST}/app:${'t'.repeat(129)}`,
      reason: 'is not valid: a tag is 1-128 letters',
    },
    {
      name: 'a short digest',
      input: `${HOST}/app@sha256:abc`,
      reason: 'digest "sha256:abc" is not valid: ECR digests are sha256:<64 lowercase hex characters>',
    },
    {
      name: 'a sha512 digest',
      input: `${HOST}/app@sha512:${'a'.repeat(128)}`,
      reason: 'is not valid: ECR digests are sha256',
    },
    {
      name: 'an uppercase digest',
      input: `${HOST}/app@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}`,
      reason: 'has uppercase hex; digests are lowercase',
      suggestion: `${HOST}/app@${DIGEST}`,
    },
    {
      name: 'a port',
      input: `${HOST}:443/app:v1`,
      reason: 'an ECR registry host takes no port (:443)',
      suggestion: `${HOST}/app:v1`,
    },
    {
      name: 'dkr.ecr under on.aws',
      input: `${ACCOUNT}.dkr.ecr.us-east-1.on.aws/app`,
      reason: 'the dual-stack host under on.aws is dkr-ecr, not dkr.ecr',
      suggestion: `${ACCOUNT}.dkr-ecr.us-east-1.on.aws/app`,
    },
    {
      name: 'dkr-ecr under amazonaws.com',
      input: `${ACCOUNT}.dkr-ecr.us-east-1.amazonaws.com/app`,
      reason: 'dkr-ecr is the dual-stack form, which lives under on.aws',
      suggestion: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app`,
    },
    {
      name: 'a .cn host outside China',
      input: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com.cn/app`,
      reason: 'an amazonaws.com.cn host must have a cn- region, not eu-west-1',
    },
    {
      name: 'a China region without .cn',
      input: `${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com/app`,
      reason: 'cn-northwest-1 registries are under amazonaws.com.cn',
      suggestion: `${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn/app`,
    },
    {
      name: 'a China region under on.aws',
      input: `${ACCOUNT}.dkr-ecr.cn-north-1.on.aws/app`,
      reason: 'cn-north-1 registries are under amazonaws.com.cn, not on.aws',
    },
    {
      name: 'a lookalike host',
      input: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.co/app`,
      reason: 'looks like ECR but is not <account>.dkr.ecr.<region>.amazonaws.com[.cn]',
    },
  ])('$name', ({ input, reason, suggestion }) => {
    const result = parseEcrUri(input);
    if (result.ok) throw new Error(`expected ${input} to be invalid`);
    expect(result.kind).toBe('invalid');
    expect(result.reason).toContain(reason);
    expect(result.suggestion).toBe(suggestion);
    // A suggestion is only offered when it is itself a valid ECR reference.
    if (suggestion !== undefined) expect(parseEcrUri(suggestion).ok).toBe(true);
  });
});

describe('isEcrHost', () => {
  it.each([
    { host: HOST, ecr: true },
    { host: HOST.toUpperCase(), ecr: true },
    { host: `${ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com`, ecr: true },
    { host: `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`, ecr: true },
    { host: `${ACCOUNT}.dkr-ecr.ap-southeast-2.on.aws`, ecr: true },
    { host: `${ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws`, ecr: true },
    { host: `${HOST}:443`, ecr: false },
    { host: `${HOST}/app`, ecr: false },
    { host: `https://${HOST}`, ecr: false },
    { host: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com.cn`, ecr: false },
    { host: 'public.ecr.aws', ecr: false },
    { host: 'quay.io', ecr: false },
    { host: '', ecr: false },
  ])('$host → $ecr', ({ host, ecr }) => {
    expect(isEcrHost(host)).toBe(ecr);
  });
});

describe('ecrHostRegion', () => {
  // The ECR token source asks the registry's own region for its token: a parse of host + a one-letter
  // repository (shorter than ECR allows) used to fail silently and fall back to AWS_REGION.
  it.each([
    [`${ACCOUNT}.dkr.ecr.ap-southeast-2.amazonaws.com`, 'ap-southeast-2'],
    [`${ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws`, 'us-west-2'],
    [`${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn`, 'cn-north-1'],
    ['quay.io', undefined],
  ])('%s → %s', (host, region) => {
    expect(ecrHostRegion(host)).toBe(region);
  });
});

describe('plugin API', () => {
  it('exports the ECR parser for plugins', () => {
    expect(pluginApi.parseEcrUri).toBe(parseEcrUri);
    expect(pluginApi.isEcrHost).toBe(isEcrHost);
  });
});
