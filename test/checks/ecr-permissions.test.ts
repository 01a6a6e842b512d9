import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import check from '../../checks/ecr-permissions.ts';
import { modelcarBuild } from '../../src/commands/modelcar-build.ts';
import type { CheckContext, CheckOptions, PolicyDecision } from '../../src/plugin.ts';
import { pushBusyboxBase } from '../support/busybox-base.ts';
import { fakeContext } from '../support/context.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type RegistryHandle, startRegistry } from '../support/registry.ts';
import { testdir } from '../support/testdir.ts';
import { modelcarInput } from '../support/modelcar-input.ts';

const HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const ARN = 'arn:aws:ecr:eu-west-1:123456789012:repository';
const PRINCIPAL = 'arn:aws:iam::123456789012:role/ecr-push';

/** A context whose simulation allows everything but `denied`, recording what was asked about which resource. */
function context(
  options: Partial<CheckOptions>,
  denied: readonly string[] = [],
): { ctx: CheckContext; asked: Map<string, string[]> } {
  const asked = new Map<string, string[]>();
  const ctx = fakeContext({
    options: { ecrUri: `${HOST}/team/model:v1`, ...options },
    aws: {
      ...fakeContext().aws,
      identity: () =>
        Promise.resolve({
          arn: 'arn:aws:sts::123456789012:assumed-role/ecr-push/session',
          account: '123456789012',
          userId: 'AROA:session',
        }),
      simulate: (_principal, actions, resources) => {
        const [resource = ''] = resources;
        asked.set(resource, [...(asked.get(resource) ?? []), ...actions]);
        return Promise.resolve(
          actions.map((action): PolicyDecision => ({
            action,
            resource,
            decision: denied.includes(`${action} ${resource}`) ? 'implicitDeny' : 'allowed',
          })),
        );
      },
    },
  });
  return { ctx, asked };
}

const PUSH = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
];

describe('ecr-permissions asks for what a push really calls', () => {
  it.each([
    { name: 'no base (preflight push)', baseImage: undefined },
    { name: 'a base on another registry', baseImage: 'docker.io/library/busybox:1.37' },
  ])('$name: the token on *, the five push actions on the destination, no read of it', async ({ baseImage }) => {
    const { ctx, asked } = context(baseImage === undefined ? {} : { baseImage });
    const result = await check.run(ctx);
    expect(result).toEqual({ status: 'pass', message: `${PRINCIPAL} may push to team/model (6 actions simulated)` });
    expect(Object.fromEntries(asked)).toEqual({ '*': ['ecr:GetAuthorizationToken'], [`${ARN}/team/model`]: PUSH });
  });

  it('an ECR base: its repository needs BatchGetImage and GetDownloadUrlForLayer (reads and mounts), the destination still only the push', async () => {
    const { ctx, asked } = context({ baseImage: `${HOST}/base/busybox:1.37` });
    expect(await check.run(ctx)).toMatchObject({
      status: 'pass',
      message: `${PRINCIPAL} may push to team/model (8 actions simulated)`,
    });
    expect(asked.get(`${ARN}/team/model`)).toEqual(PUSH);
    expect(asked.get(`${ARN}/base/busybox`)).toEqual(['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
  });

  it('a base the role may not read: fails naming the base repository, with a statement on its ARN', async () => {
    const { ctx } = context({ baseImage: `${HOST}/base/busybox:1.37` }, [
      `ecr:GetDownloadUrlForLayer ${ARN}/base/busybox`,
      `ecr:PutImage ${ARN}/team/model`,
    ]);
    const result = await check.run(ctx);
    expect(result.status).toBe('fail');
    if (result.status !== 'fail') return;
    expect(result.message).toBe(
      `${PRINCIPAL} may not ecr:PutImage on team/model; ecr:GetDownloadUrlForLayer on base/busybox (the base): a push fails with 403 DENIED`,
    );
    expect(JSON.parse(result.remediation.slice(result.remediation.indexOf('{')))).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'EcrPush', Effect: 'Allow', Action: ['ecr:PutImage'], Resource: `${ARN}/team/model` },
        {
          Sid: 'EcrPullBase',
          Effect: 'Allow',
          Action: ['ecr:GetDownloadUrlForLayer'],
          Resource: `${ARN}/base/busybox`,
        },
      ],
    });
  });
});

describe('ecr-permissions agrees with the requests of a real modelcar build', () => {
  let registry: RegistryHandle;
  let proxy: FaultProxy;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushBusyboxBase(registry);
    proxy = await startFaultProxy(registry.url);
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), registry.stop()]);
  });

  it('every request of a first push (base on the same registry, so mounted) maps to an action the check simulates on that repository', async () => {
    const dir = await testdir({ 'config.json': '{}', 'weights.bin': 'w'.repeat(4096) });
    await modelcarBuild(
      modelcarInput({
        modelDir: dir,
        image: `${proxy.host}/team/model:v1`,
        base: `${proxy.host}/base/busybox:1`,
        layerThreshold: 1024,
        uploadMode: 'chunked',
      }),
    );
    const used = new Map<string, Set<string>>();
    for (const entry of proxy.log) {
      for (const { repository, action } of ecrActions(entry.method, entry.path))
        used.set(`${ARN}/${repository}`, (used.get(`${ARN}/${repository}`) ?? new Set()).add(action));
    }
    const { ctx, asked } = context({ baseImage: `${HOST}/base/busybox:1` });
    expect((await check.run(ctx)).status).toBe('pass');
    // The destination: exactly the push actions, every one of them used; the base: only reads.
    expect([...(used.get(`${ARN}/team/model`) ?? [])].sort()).toEqual(
      [...(asked.get(`${ARN}/team/model`) ?? [])].sort(),
    );
    expect([...(used.get(`${ARN}/base/busybox`) ?? [])].sort()).toEqual(
      [...(asked.get(`${ARN}/base/busybox`) ?? [])].sort(),
    );
  });
});

/** How ECR authorizes a registry API request (its IAM actions for the Docker registry API). */
function ecrActions(method: string, pathWithQuery: string): { repository: string; action: string }[] {
  const [path = '', query = ''] = pathWithQuery.split('?');
  const match = /^\/v2\/(.+?)\/(manifests|blobs\/uploads|blobs)(\/.*)?$/.exec(path);
  if (match === null) return [];
  const [, repository = '', kind] = match;
  if (kind === 'manifests') return [{ repository, action: method === 'PUT' ? 'ecr:PutImage' : 'ecr:BatchGetImage' }];
  if (kind === 'blobs')
    return [
      { repository, action: method === 'HEAD' ? 'ecr:BatchCheckLayerAvailability' : 'ecr:GetDownloadUrlForLayer' },
    ];
  const from = new URLSearchParams(query).get('from');
  const upload =
    { POST: 'ecr:InitiateLayerUpload', PATCH: 'ecr:UploadLayerPart', PUT: 'ecr:CompleteLayerUpload' }[method] ??
    'ecr:UploadLayerPart';
  return [
    { repository, action: upload },
    ...(from === null ? [] : [{ repository: from, action: 'ecr:GetDownloadUrlForLayer' }]),
  ];
}
