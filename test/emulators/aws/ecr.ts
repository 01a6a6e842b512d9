import { AwsError, type Answer, jsonAnswer } from './protocols.ts';
import type { AwsState, Identity } from './state.ts';

/** ECR over JSON 1.1: the three operations preflight's checks and token source use. */
export function ecr(state: AwsState, caller: Identity, operation: string, input: Record<string, unknown>, region: string): Answer {
  const allowed = (action: string, resource: string): void => {
    const decision = state.decisions.get(action) ?? 'allowed';
    if (decision !== 'allowed') throw new AwsError(400, 'AccessDeniedException', `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource}${decision === 'explicitDeny' ? ' with an explicit deny in an identity-based policy' : ''}`);
  };
  const account = typeof input.registryId === 'string' ? input.registryId : caller.account;
  const repository = (name: unknown) => {
    const found = state.repositories.get(`${account}/${String(name)}`);
    const arn = `arn:aws:ecr:${region}:${account}:repository/${String(name)}`;
    return { found, arn };
  };
  const missing = (name: unknown): AwsError =>
    new AwsError(400, 'RepositoryNotFoundException', `The repository with name '${String(name)}' does not exist in the registry with id '${account}'`);
  switch (operation) {
    case 'GetAuthorizationToken': {
      allowed('ecr:GetAuthorizationToken', '*');
      const expiresAt = state.now().getTime() / 1000 + state.ecrTokenLifetimeSeconds;
      const authorizationToken = Buffer.from(`AWS:${state.ecrPassword}`).toString('base64');
      return jsonAnswer({ authorizationData: [{ authorizationToken, expiresAt, proxyEndpoint: state.ecrProxyEndpoint ?? `https://${caller.account}.dkr.ecr.${region}.amazonaws.com` }] });
    }
    case 'DescribeRepositories': {
      const names = Array.isArray(input.repositoryNames) ? input.repositoryNames : [];
      const repositories = names.map((name) => {
        const { found, arn } = repository(name);
        allowed('ecr:DescribeRepositories', arn);
        if (found === undefined) throw missing(name);
        return { repositoryArn: arn, registryId: account, repositoryName: found.name, repositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${found.name}`, createdAt: 1_700_000_000, imageTagMutability: found.imageTagMutability };
      });
      return jsonAnswer({ repositories });
    }
    case 'BatchCheckLayerAvailability': {
      const { found, arn } = repository(input.repositoryName);
      allowed('ecr:BatchCheckLayerAvailability', arn);
      if (found === undefined) throw missing(input.repositoryName);
      const digests = Array.isArray(input.layerDigests) ? input.layerDigests.map(String) : [];
      return jsonAnswer({ layers: digests.map((layerDigest) => ({ layerDigest, layerAvailability: 'UNAVAILABLE' })), failures: [] });
    }
    case 'DescribeImages': {
      const { found, arn } = repository(input.repositoryName);
      allowed('ecr:DescribeImages', arn);
      if (found === undefined) throw missing(input.repositoryName);
      const ids = Array.isArray(input.imageIds) ? input.imageIds : [];
      const tags = ids.map((id: unknown) => (typeof id === 'object' && id !== null && 'imageTag' in id ? String(id.imageTag) : ''));
      const absent = tags.find((tag) => !found.tags.has(tag));
      if (absent !== undefined) throw new AwsError(400, 'ImageNotFoundException', `The image with imageId {imageDigest:'null', imageTag:'${absent}'} does not exist within the repository with name '${found.name}' in the registry with id '${account}'`);
      return jsonAnswer({ imageDetails: tags.map((tag) => ({ registryId: account, repositoryName: found.name, imageTags: [tag], imageDigest: `sha256:${'1'.repeat(64)}` })) });
    }
    default:
      throw new AwsError(400, 'UnknownOperationException', `Unknown operation ${operation}`);
  }
}
