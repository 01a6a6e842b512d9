import { AwsError, type Answer, jsonAnswer } from './protocols.ts';
import type { AwsState, Identity, Repository } from './state.ts';

/** ECR over JSON 1.1: the operations preflight's checks and token source use, plus what tests set up with. */
export function ecr(
  state: AwsState,
  caller: Identity,
  operation: string,
  input: Record<string, unknown>,
  region: string,
): Answer {
  const allowed = (action: string, resource: string): void => {
    const decision = state.decide(action);
    if (decision !== 'allowed')
      throw new AwsError(
        400,
        'AccessDeniedException',
        `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} ${decision === 'explicitDeny' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${action} action`}`,
      );
  };
  const account = typeof input.registryId === 'string' ? input.registryId : caller.account;
  const repository = (name: unknown) => {
    const found = state.repositories.get(`${account}/${String(name)}`);
    const arn = `arn:aws:ecr:${region}:${account}:repository/${String(name)}`;
    return { found, arn };
  };
  const missing = (name: unknown): AwsError =>
    new AwsError(
      400,
      'RepositoryNotFoundException',
      `The repository with name '${String(name)}' does not exist in the registry with id '${account}'`,
    );
  switch (operation) {
    case 'GetAuthorizationToken': {
      allowed('ecr:GetAuthorizationToken', '*');
      const token = state.issueEcrToken(caller);
      const authorizationToken = Buffer.from(`AWS:${token.password}`).toString('base64');
      return jsonAnswer({
        authorizationData: [
          {
            authorizationToken,
            expiresAt: token.expiresAt.getTime() / 1000,
            proxyEndpoint: state.ecrProxyEndpoint ?? `https://${caller.account}.dkr.ecr.${region}.amazonaws.com`,
          },
        ],
      });
    }
    case 'DescribeRepositories': {
      // Without repositoryNames, every repository of the registry
      // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositories.html);
      // with them, each must exist or the call is RepositoryNotFoundException.
      const described = (found: Repository) => ({
        repositoryArn: repository(found.name).arn,
        registryId: account,
        repositoryName: found.name,
        repositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${found.name}`,
        createdAt: 1_700_000_000,
        imageTagMutability: found.imageTagMutability,
      });
      if (!Array.isArray(input.repositoryNames)) {
        allowed('ecr:DescribeRepositories', `arn:aws:ecr:${region}:${account}:repository/*`);
        const all = [...state.repositories.values()].filter((r) => r.account === account);
        return jsonAnswer({ repositories: all.map(described) });
      }
      const repositories = input.repositoryNames.map((name) => {
        const { found, arn } = repository(name);
        allowed('ecr:DescribeRepositories', arn);
        if (found === undefined) throw missing(name);
        return described(found);
      });
      return jsonAnswer({ repositories });
    }
    case 'BatchCheckLayerAvailability': {
      const { found, arn } = repository(input.repositoryName);
      allowed('ecr:BatchCheckLayerAvailability', arn);
      if (found === undefined) throw missing(input.repositoryName);
      const digests = Array.isArray(input.layerDigests) ? input.layerDigests.map(String) : [];
      return jsonAnswer({
        layers: digests.map((layerDigest) => ({ layerDigest, layerAvailability: 'UNAVAILABLE' })),
        failures: [],
      });
    }
    case 'CreateRepository': {
      const name = String(input.repositoryName);
      const { found, arn } = repository(name);
      allowed('ecr:CreateRepository', arn);
      if (found !== undefined)
        throw new AwsError(
          400,
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${account}'`,
        );
      const created = state.addRepository(
        account,
        name,
        input.imageTagMutability === 'IMMUTABLE' ? 'IMMUTABLE' : 'MUTABLE',
      );
      return jsonAnswer({
        repository: {
          repositoryArn: arn,
          registryId: account,
          repositoryName: name,
          repositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}`,
          createdAt: state.now().getTime() / 1000,
          imageTagMutability: created.imageTagMutability,
        },
      });
    }
    case 'ListImages': {
      const { found, arn } = repository(input.repositoryName);
      allowed('ecr:ListImages', arn);
      if (found === undefined) throw missing(input.repositoryName);
      // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImages.html: one imageId per
      // tag, one per untagged manifest; filter.tagStatus picks TAGGED, UNTAGGED or ANY (the default).
      const status = tagStatus(input);
      const tagged = [...found.tagDigests].map(([imageTag, imageDigest]) => ({ imageDigest, imageTag }));
      const seeded = [...found.tags]
        .filter((tag) => !found.tagDigests.has(tag))
        .map((imageTag) => ({ imageDigest: SEEDED_DIGEST, imageTag }));
      const untagged = [...found.images.keys()]
        .filter((digest) => ![...found.tagDigests.values()].includes(digest))
        .map((imageDigest) => ({ imageDigest }));
      return jsonAnswer({
        imageIds: [...(status === 'UNTAGGED' ? [] : [...tagged, ...seeded]), ...(status === 'TAGGED' ? [] : untagged)],
      });
    }
    case 'DescribeImages': {
      const { found, arn } = repository(input.repositoryName);
      allowed('ecr:DescribeImages', arn);
      if (found === undefined) throw missing(input.repositoryName);
      if (Array.isArray(input.imageIds))
        return jsonAnswer({ imageDetails: input.imageIds.map((id) => describeImage(found, account, imageId(id))) });
      // Unfiltered: every image of the repository, each once with all its tags
      // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html).
      const status = tagStatus(input);
      const details = [
        ...[...found.images.keys()].map((imageDigest) => describeImage(found, account, { imageDigest })),
        ...[...found.tags]
          .filter((tag) => !found.tagDigests.has(tag))
          .map((imageTag) => describeImage(found, account, { imageTag })),
      ].filter((d) => status === 'ANY' || (status === 'TAGGED') === (d.imageTags !== undefined));
      return jsonAnswer({ imageDetails: details });
    }
    default:
      throw new AwsError(400, 'UnknownOperationException', `Unknown operation ${operation}`);
  }
}

/** The digest a tag seeded by hand (no manifest behind it) describes with. */
const SEEDED_DIGEST = `sha256:${'1'.repeat(64)}`;

function tagStatus(input: Record<string, unknown>): 'TAGGED' | 'UNTAGGED' | 'ANY' {
  const filter = input.filter;
  const status = typeof filter === 'object' && filter !== null && 'tagStatus' in filter ? filter.tagStatus : 'ANY';
  return status === 'TAGGED' || status === 'UNTAGGED' ? status : 'ANY';
}

interface ImageId {
  readonly imageTag?: string;
  readonly imageDigest?: string;
}

function imageId(id: unknown): ImageId {
  if (typeof id !== 'object' || id === null) return {};
  const tag = 'imageTag' in id && typeof id.imageTag === 'string' ? { imageTag: id.imageTag } : {};
  return {
    ...tag,
    ...('imageDigest' in id && typeof id.imageDigest === 'string' ? { imageDigest: id.imageDigest } : {}),
  };
}

/** One DescribeImages entry, from the manifests the registry double stored. */
function describeImage(found: Repository, account: string, id: ImageId) {
  const digest = id.imageDigest ?? (id.imageTag === undefined ? undefined : found.tagDigests.get(id.imageTag));
  const image = digest === undefined ? undefined : found.images.get(digest);
  if (image === undefined || (id.imageTag !== undefined && found.tagDigests.get(id.imageTag) !== image.digest)) {
    // A tag a test seeded by hand (no manifest behind it) still describes, with a placeholder digest.
    if (
      id.imageTag !== undefined &&
      id.imageDigest === undefined &&
      found.tags.has(id.imageTag) &&
      !found.tagDigests.has(id.imageTag)
    ) {
      return {
        registryId: account,
        repositoryName: found.name,
        imageTags: [id.imageTag],
        imageDigest: SEEDED_DIGEST,
      };
    }
    throw new AwsError(
      400,
      'ImageNotFoundException',
      `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${found.name}' in the registry with id '${account}'`,
    );
  }
  const imageTags = [...found.tagDigests].filter(([, d]) => d === image.digest).map(([tag]) => tag);
  return {
    registryId: account,
    repositoryName: found.name,
    imageDigest: image.digest,
    ...(imageTags.length === 0 ? {} : { imageTags }),
    imageSizeInBytes: image.sizeInBytes,
    imagePushedAt: image.pushedAt.getTime() / 1000,
    imageManifestMediaType: image.mediaType,
  };
}
