import { randomBytes } from 'node:crypto';

/** Credentials the emulator knows, and who they belong to. */
export interface Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
  readonly expiresAt?: Date;
  /** `session`: temporary credentials of an assumed role (an SSO login is one), which caps chaining at 1 h. */
  readonly kind: 'user' | 'session';
}

export interface Role {
  readonly arn: string;
  readonly maxSessionDurationSeconds: number;
  /** Who may assume it; everyone when absent. */
  readonly trusts?: (callerArn: string) => boolean;
}

export interface Repository {
  readonly name: string;
  readonly account: string;
  readonly imageTagMutability: 'MUTABLE' | 'IMMUTABLE';
  /** Tags already pushed (DescribeImages); a test may add one without an image behind it. */
  readonly tags: Set<string>;
  /** Manifests pushed through the ECR registry double, by digest. */
  readonly images: Map<string, EcrImage>;
  /** Tag → manifest digest, for tags pushed through the registry double. */
  readonly tagDigests: Map<string, string>;
}

/** A manifest as ECR keeps it: what BatchGetImage, DescribeImages and the registry's GET answer from. */
export interface EcrImage {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: Buffer;
  /** Digests of the blobs (config, layers) and child manifests it references. */
  readonly references: readonly string[];
  readonly sizeInBytes: number;
  readonly pushedAt: Date;
}

/** A password GetAuthorizationToken handed out: the registry accepts it for `account` until `expiresAt`. */
export interface EcrToken {
  readonly arn: string;
  readonly account: string;
  readonly expiresAt: Date;
}

export type Decision = 'allowed' | 'implicitDeny' | 'explicitDeny';

/** A failure to hand out instead of an answer, for the next `times` calls of `operation` (`*`: any). */
export interface InjectedFault {
  readonly operation: string;
  readonly status: number;
  readonly code: string;
  readonly message: string;
  times: number;
}

/**
 * The actions of AmazonEC2ContainerRegistryPowerUser
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEC2ContainerRegistryPowerUser.html),
 * with ecr:CreateRepository added.
 */
const POWER_USER_ACTIONS = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:GetRepositoryPolicy',
  'ecr:DescribeRepositories',
  'ecr:ListImages',
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:GetLifecyclePolicy',
  'ecr:GetLifecyclePolicyPreview',
  'ecr:ListTagsForResource',
  'ecr:DescribeImageScanFindings',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:CreateRepository',
];

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Random ids in AWS's shapes, generated at run time: no credential is ever a literal in the repo. */
export function awsId(prefix: string, length = 20): string {
  const bytes = randomBytes(length - prefix.length);
  return prefix + [...bytes].map((b) => ALPHANUM[b % ALPHANUM.length]).join('');
}

export function secret(): string {
  return randomBytes(30).toString('base64').slice(0, 40);
}

/** The emulator's mutable world; tests change it between calls. */
export class AwsState {
  readonly identities = new Map<string, Identity>();
  readonly roles = new Map<string, Role>();
  readonly repositories = new Map<string, Repository>();
  /**
   * What the principals' identity policies allow: by default the actions of AWS's managed
   * AmazonEC2ContainerRegistryPowerUser policy plus ecr:CreateRepository (the README's fix for a
   * missing repository). An action outside it is an implicit deny, as in IAM, where nothing is allowed
   * unless a policy allows it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
   */
  readonly granted = new Set<string>(POWER_USER_ACTIONS);
  /** Decisions by IAM action (`ecr:PutImage`) that override `granted`. */
  readonly decisions = new Map<string, Decision>();
  readonly faults: InjectedFault[] = [];
  /** Operations served, in order, with the access key that signed them. */
  readonly calls: { readonly operation: string; readonly accessKeyId: string | undefined; readonly status: number }[] =
    [];
  simulationDenied = false;
  /** The one password GetAuthorizationToken hands out when `ecrStaticPassword` is set (an htpasswd registry's). */
  ecrPassword = secret();
  /** ECR gives a fresh password per call; tests that start an htpasswd registry need one known in advance. */
  ecrStaticPassword = false;
  /** Passwords handed out by GetAuthorizationToken, which the ECR registry double accepts. */
  readonly ecrTokens = new Map<string, EcrToken>();
  ecrTokenLifetimeSeconds = 12 * 3600;
  /** Accounts that turned on ECR's opt-in cross-repository blob mounting. */
  readonly ecrBlobMounting = new Set<string>();
  /** What GetAuthorizationToken names as the proxyEndpoint (a local registry URL in tests); ECR's host when unset. */
  ecrProxyEndpoint: string | undefined;
  now: () => Date = () => new Date();

  /** The IAM decision for `action` (the same for every principal and resource of the emulator). */
  decide(action: string): Decision {
    return this.decisions.get(action) ?? (this.granted.has(action) ? 'allowed' : 'implicitDeny');
  }

  addUser(account: string, name: string): Identity {
    return this.add({
      accessKeyId: awsId('AKIA'),
      secretAccessKey: secret(),
      arn: `arn:aws:iam::${account}:user/${name}`,
      account,
      userId: awsId('AIDA', 21),
      kind: 'user',
    });
  }

  /** Temporary credentials of an assumed-role session, as `aws sso login` leaves them. */
  addSession(account: string, roleName: string, sessionName: string, expiresInSeconds: number): Identity {
    return this.add({
      accessKeyId: awsId('ASIA'),
      secretAccessKey: secret(),
      sessionToken: randomBytes(96).toString('base64'),
      arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      account,
      userId: `${awsId('AROA', 21)}:${sessionName}`,
      expiresAt: new Date(this.now().getTime() + expiresInSeconds * 1000),
      kind: 'session',
    });
  }

  addRole(
    account: string,
    name: string,
    options: { maxSessionDurationSeconds?: number; trusts?: (callerArn: string) => boolean; path?: string } = {},
  ): Role {
    const role = {
      arn: `arn:aws:iam::${account}:role${options.path ?? '/'}${name}`,
      maxSessionDurationSeconds: options.maxSessionDurationSeconds ?? 12 * 3600,
      ...(options.trusts === undefined ? {} : { trusts: options.trusts }),
    };
    this.roles.set(role.arn, role);
    return role;
  }

  addRepository(
    account: string,
    name: string,
    imageTagMutability: Repository['imageTagMutability'] = 'MUTABLE',
  ): Repository {
    const repository = {
      name,
      account,
      imageTagMutability,
      tags: new Set<string>(),
      images: new Map<string, EcrImage>(),
      tagDigests: new Map<string, string>(),
    };
    this.repositories.set(`${account}/${name}`, repository);
    return repository;
  }

  /** Store a pushed manifest, and point `tag` at it when given. */
  putImage(repository: Repository, image: EcrImage, tag?: string): void {
    repository.images.set(image.digest, image);
    if (tag === undefined) return;
    repository.tagDigests.set(tag, image.digest);
    repository.tags.add(tag);
  }

  /** A fresh ECR password for `identity`, valid for `ecrTokenLifetimeSeconds` on the emulator clock. */
  issueEcrToken(identity: Identity): { password: string; expiresAt: Date } {
    const password = this.ecrStaticPassword ? this.ecrPassword : secret();
    const expiresAt = new Date(this.now().getTime() + this.ecrTokenLifetimeSeconds * 1000);
    this.ecrTokens.set(password, { arn: identity.arn, account: identity.account, expiresAt });
    return { password, expiresAt };
  }

  /** Every ECR password handed out so far has expired (a pipeline that outlived its 12 h token). */
  expireEcrTokens(): void {
    const past = new Date(this.now().getTime() - 1000);
    for (const [password, token] of this.ecrTokens) this.ecrTokens.set(password, { ...token, expiresAt: past });
  }

  add(identity: Identity): Identity {
    this.identities.set(identity.accessKeyId, identity);
    return identity;
  }

  inject(fault: Omit<InjectedFault, 'times'> & { times?: number }): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** The next injected fault for `operation`, consuming one of its times. */
  takeFault(operation: string): InjectedFault | undefined {
    const fault = this.faults.find((f) => f.times > 0 && (f.operation === operation || f.operation === '*'));
    if (fault !== undefined) fault.times -= 1;
    return fault;
  }
}
