import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from '../emulators/aws/state.ts';
import type { CliResult } from '../support/cli.ts';
import { type EcrWorld, namespaceSupport, startEcrWorld } from '../support/ecr-world.ts';

const ECR_CHECKS = 'aws-credentials,ecr-repository,ecr-login';
let world: EcrWorld;
let pipeline: Identity;

interface Row {
  readonly status: string;
  readonly message: string;
}

/** `preflight check -o json` on the world's image, as `identity`, by ECR's real host names. */
async function check(identity: Identity): Promise<{ result: CliResult; rows: Map<string, Row> }> {
  const image = `${world.registryHost}/team/model:v1`;
  // check reads the repository from --ecr-uri only; --image alone leaves the ECR checks skipped.
  const result = await world.runCli(
    ['check', '--only', ECR_CHECKS, '--ecr-uri', image, '--image', image, '-o', 'json'],
    { env: world.env(identity) },
  );
  const report: unknown = JSON.parse(result.stdout);
  const checks: unknown[] =
    typeof report === 'object' && report !== null && 'checks' in report && Array.isArray(report.checks)
      ? report.checks
      : [];
  const rows = new Map<string, Row>();
  for (const row of checks) {
    if (typeof row !== 'object' || row === null || !('id' in row) || typeof row.id !== 'string') continue;
    const status = 'status' in row && typeof row.status === 'string' ? row.status : '';
    rows.set(row.id, { status, message: 'message' in row && typeof row.message === 'string' ? row.message : '' });
  }
  return { result, rows };
}

describe.skipIf(!namespaceSupport().ok)(
  'the ECR world: the built CLI in a network namespace where only ECR, STS and IAM resolve',
  () => {
    beforeAll(async () => {
      world = await startEcrWorld();
      pipeline = world.state.addUser(world.account, 'pipeline');
    }, 60_000);

    afterAll(async () => {
      await world.close();
    });

    beforeEach(() => {
      world.state.repositories.clear();
      world.state.addRepository(world.account, 'team/model');
    });

    it('resolves the AWS host names to loopback and nothing else', async () => {
      for (const name of [
        world.registryHost,
        `api.ecr.${world.region}.amazonaws.com`,
        `sts.${world.region}.amazonaws.com`,
        'iam.amazonaws.com',
      ]) {
        const found = await world.run('getent', ['hosts', name]);
        expect(found, name).toMatchObject({ code: 0 });
        expect(found.stdout.split(/\s+/).slice(0, 2)).toEqual(['127.0.0.1', name]);
      }
      const unknown = await world.run('getent', ['hosts', 'example.com']);
      expect(unknown).toMatchObject({ code: 2, stdout: '' });
    });

    it('preflight check passes aws-credentials, ecr-repository and ecr-login with no endpoint override', async () => {
      const env = world.env(pipeline);
      expect(Object.keys(env).filter((key) => key.startsWith('AWS_ENDPOINT_URL'))).toEqual([]);
      const before = world.state.calls.length;
      const { result, rows } = await check(pipeline);
      expect(Object.fromEntries([...rows].map(([id, row]) => [id, row.status])), result.stderr).toEqual({
        'aws-credentials': 'pass',
        'ecr-repository': 'pass',
        'ecr-login': 'pass',
      });
      expect(result.code).toBe(0);
      expect(rows.get('ecr-login')?.message).toMatch(
        new RegExp(`^ECR login works for ${world.registryHost.replaceAll('.', '\\.')}; the token expires in 1[12]h`),
      );
      // The only way these calls could arrive is through the real host names resolved in the namespace.
      const served = world.state.calls
        .slice(before)
        .filter((call) => call.accessKeyId === pipeline.accessKeyId && call.status === 200);
      expect(served.map((call) => call.operation)).toEqual(
        expect.arrayContaining(['GetCallerIdentity', 'DescribeRepositories', 'GetAuthorizationToken']),
      );
      expect([...world.state.ecrTokens.values()].some((token) => token.arn === pipeline.arn)).toBe(true);
      expect(world.registry.log.requests).toContainEqual({
        method: 'GET',
        path: '/v2/',
        status: 200,
        authorized: true,
      });
    });

    it('a missing repository fails ecr-repository', async () => {
      world.state.repositories.clear();
      const { result, rows } = await check(pipeline);
      expect(rows.get('ecr-repository')?.status, result.stderr).toBe('fail');
      expect(rows.get('ecr-repository')?.message).toContain('team/model');
      expect(rows.get('aws-credentials')?.status).toBe('pass');
      expect(result.code).toBe(3);
    });

    it('a kill from onStdout reaches the command in the namespace: SIGTERM through the forwarder; SIGKILL kills the forwarder and with it the command', async () => {
      // `wait` returns as soon as a trapped signal arrives; the trap takes its background sleep along.
      const script = "sleep 60 & trap 'kill $!; echo terminated; exit 7' TERM; echo ready; wait";
      const term = await world.run('sh', ['-c', script], {
        onStdout: (soFar, child) => soFar === 'ready\n' && child.kill('SIGTERM'),
      });
      expect(term).toMatchObject({ code: 7, signal: null, stdout: 'ready\nterminated\n' });
      const killed = await world.run('sh', ['-c', 'echo ready; exec sleep 60'], {
        onStdout: (soFar, child) => soFar === 'ready\n' && child.kill('SIGKILL'),
      });
      expect(killed).toMatchObject({ code: null, signal: 'SIGKILL' });
    });
  },
);
