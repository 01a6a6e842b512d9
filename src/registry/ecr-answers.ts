import { ecrHostRegion, isEcrHost } from '../aws/ecr-uri.ts';
import { RegistryError } from './errors.ts';

/**
 * What ECR's registry answers mean, with the exact fix. ECR's own words are terse ("UNSUPPORTED",
 * a dropped connection) and users meet them only after uploading gigabytes; each answer here names
 * the repository or tag and the command that fixes it.
 */
export function ecrHint(
  registry: string,
  path: string,
  status: number,
  code: string | undefined,
  message: string | undefined,
): string | undefined {
  if (!isEcrHost(registry)) return undefined;
  const { repository, reference } = target(path);
  if (status === 400 && code === 'TAG_INVALID' && /immutable/i.test(message ?? '')) {
    return `the repository ${repository} has immutable tags and ${reference} exists: push a new tag, or allow overwrites with aws ecr put-image-tag-mutability --repository-name ${repository} --image-tag-mutability MUTABLE --region ${regionOf(registry)}`;
  }
  if (status === 405 && /layers per image/i.test(message ?? '')) {
    return 'ECR accepts at most 500 layers per image (base layers included): build with preflight modelcar build (it groups files to stay below --max-layers), or merge layers';
  }
  if (status === 403 && /authorization token has expired/i.test(message ?? '')) {
    return 'the ECR token expired and a new one could not be used: refresh the AWS credentials (aws sso login, or preflight mint-creds for the pipeline Secret) and run again';
  }
  if (status === 404 && code === 'NAME_UNKNOWN') return createRepositoryHint(registry, repository);
  return undefined;
}

/**
 * ECR cuts the connection of an upload into a repository that does not exist instead of answering
 * (dotnet/sdk-container-builds#279): after the retries, say so rather than "other side closed".
 */
export function ecrConnectionCut(
  registry: string,
  method: string,
  path: string,
  cause: unknown,
): RegistryError | undefined {
  if (!isEcrHost(registry) || method !== 'POST' || !/\/blobs\/uploads\/$/.test(new URL(path, 'http://x').pathname))
    return undefined;
  const { repository } = target(path);
  return new RegistryError(
    `${registry} closed the connection when an upload into ${repository} started: the repository most likely does not exist`,
    {
      status: 0,
      ociCode: 'NAME_UNKNOWN',
      hint: createRepositoryHint(registry, repository),
      cause,
    },
  );
}

function createRepositoryHint(registry: string, repository: string): string {
  return `create it: aws ecr create-repository --repository-name ${repository} --region ${regionOf(registry)} (ECR repositories must exist before a push)`;
}

/** `/v2/<name>/(blobs|manifests)/…` → the repository name and the last path segment. */
function target(path: string): { repository: string; reference: string } {
  const pathname = new URL(path, 'http://x').pathname;
  const match = /^\/v2\/(.+?)\/(?:blobs|manifests)\/(.*)$/.exec(pathname);
  return { repository: match?.[1] ?? '?', reference: decodeURIComponent(match?.[2]?.split('/').pop() ?? '') };
}

function regionOf(registry: string): string {
  return ecrHostRegion(registry) ?? '<region>';
}
