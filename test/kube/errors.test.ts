import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeError } from '../../src/kube/errors.ts';

const call = {
  verb: 'update',
  resource: 'secrets',
  name: 'aws-ecr-credentials',
  namespace: 'team-a',
  user: 'alice',
  server: 'https://api.example:6443',
};

describe('kubeError', () => {
  it('uses the Status message only: never the body or headers client-node puts in its own message', () => {
    const body = JSON.stringify({
      kind: 'Status',
      reason: 'Conflict',
      message: 'the object has been modified',
      data: { AWS_SECRET_ACCESS_KEY: 'c2VjcmV0LXZhbHVl' },
    });
    const error = kubeError(
      new ApiException(409, 'Unknown API Status Code!', body, { authorization: 'Bearer sekrit' }),
      call,
    );
    expect(error.status).toBe(409);
    expect(error.reason).toBe('Conflict');
    expect(error.message).toBe(
      'Kubernetes API update secrets "aws-ecr-credentials" in namespace "team-a": 409 Conflict: the object has been modified',
    );
    expect(`${error.message} ${error.hint ?? ''}`).not.toMatch(/c2VjcmV0|sekrit/);
  });

  it('403 names the user and gives the RBAC commands; 401 says log in again', () => {
    const forbidden = kubeError(new ApiException(403, 'Unknown API Status Code!', '{"reason":"Forbidden"}', {}), call);
    expect(forbidden.message).toBe(
      'kubeconfig user "alice" may not update secrets "aws-ecr-credentials" in namespace "team-a" (403 Forbidden)',
    );
    expect(forbidden.hint).toContain(
      'oc create rolebinding preflight-secrets --role=preflight-secrets --user=alice -n team-a',
    );
    expect(forbidden.exitCode).toBe(2);
    const sa = kubeError(new ApiException(403, 'x', '', {}), {
      ...call,
      user: 'system:serviceaccount:team-a:pipeline-runner',
    });
    expect(sa.hint).toContain('--serviceaccount=team-a:pipeline-runner');
    expect(kubeError(new ApiException(401, 'Unauthorized', undefined, {}), call).hint).toContain('oc login');
  });

  it('a network failure names the server and the root cause', () => {
    const error = kubeError(
      new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') }),
      call,
    );
    expect(error.status).toBe(0);
    expect(error.message).toBe(
      'cannot reach the Kubernetes API at https://api.example:6443 to update secrets "aws-ecr-credentials" in namespace "team-a": connect ECONNREFUSED 127.0.0.1:1',
    );
  });
});
