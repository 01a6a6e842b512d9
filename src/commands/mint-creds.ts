import type { AwsCredentials, AwsSettings } from '../aws/clients.ts';
import { InternalError, UsageError } from '../errors.ts';
import type { Logger } from '../context/types.ts';
import type { KubeApi, SecretBody } from '../kube/api.ts';
import type { ApplyAction } from '../kube/secrets.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../kube/secrets.ts';

export type SecretKind = 'aws' | 'registry';

export interface MintInput {
  readonly namespaces: readonly string[];
  readonly kinds: readonly SecretKind[];
  /** Secret names by kind. */
  readonly names: Readonly<Record<SecretKind, string>>;
  readonly roleArn: string | undefined;
  readonly durationSeconds: number;
  /** `--duration` was given: a role-chaining cap is then an error, not a silent 1 h. */
  readonly durationExplicit: boolean;
  readonly sourceCredentials: boolean;
  readonly force: boolean;
  readonly dryRun: boolean;
  /** Do nothing while every Secret stays valid longer than this (ms). */
  readonly rotateWithinMs: number | undefined;
  /** Region written into the aws Secret and used for STS. */
  readonly region: string;
  /** ECR registry host and its region, for the registry Secret. */
  readonly ecr: { readonly host: string; readonly region: string } | undefined;
  readonly profile: string | undefined;
  readonly kube: KubeApi;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly now: () => Date;
  readonly signal: AbortSignal;
}

export interface MintedSecret {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly kind: SecretKind;
  readonly action: ApplyAction | 'unchanged' | 'would-write';
  readonly expiresAt: string | undefined;
}

export interface MintResult {
  readonly outcome: 'minted' | 'fresh' | 'dry-run';
  /** The identity whose credentials were written (verified with GetCallerIdentity). */
  readonly identity: string | undefined;
  readonly source: string | undefined;
  /** The earliest expiry of what was written (or of what is there, when fresh). */
  readonly expiresAt: string | undefined;
  /** The role session was shortened to 1 h by role chaining. */
  readonly capped: boolean;
  readonly warnings: readonly string[];
  readonly secrets: readonly MintedSecret[];
  /** `--dry-run`: the manifests that would be written, every value redacted. */
  readonly manifests: readonly object[];
}

export const ANNOTATION = {
  expiresAt: 'preflight.dev/expires-at',
  mintedAt: 'preflight.dev/minted-at',
  identity: 'preflight.dev/identity',
  source: 'preflight.dev/source',
} as const;

const SECRET_TYPE: Record<SecretKind, string> = { aws: 'Opaque', registry: 'kubernetes.io/dockerconfigjson' };
const SECRET_VERBS = ['get', 'create', 'update'] as const;

/** A Secret as minted, before it is applied (the resourceVersion comes from the cluster then). */
type SecretDraft = Omit<SecretBody, 'resourceVersion'>;

interface RegistryToken {
  readonly host: string;
  readonly username: string;
  readonly password: string;
  readonly expiresAt: Date;
}

/**
 * Mint short-lived credentials and write them into each namespace: check RBAC first
 * (SelfSubjectAccessReview), skip when the Secrets are fresh, resolve the source credentials,
 * AssumeRole (or take them as they are), verify with GetCallerIdentity, fetch an ECR token, then
 * create or conditionally update each Secret. Nothing is written before every value is in hand.
 */
export async function mintCredentials(input: MintInput): Promise<MintResult> {
  await requireSecretAccess(input);
  if (input.rotateWithinMs !== undefined) {
    const fresh = await freshUntil(input, input.rotateWithinMs);
    if (fresh !== undefined)
      return {
        outcome: 'fresh',
        identity: undefined,
        source: undefined,
        expiresAt: fresh.toISOString(),
        capped: false,
        warnings: [],
        secrets: [],
        manifests: [],
      };
  }
  const minted = await mintAws(input);
  const token = input.kinds.includes('registry') ? await registryToken(input, minted.credentials) : undefined;
  const mintedAt = input.now().toISOString();
  const bodies = input.kinds.map((kind) => secretBody(input, kind, minted, token, mintedAt));
  const expiries = bodies
    .map((b) => b.annotations[ANNOTATION.expiresAt])
    .filter((e): e is string => e !== undefined && e !== '');
  const expiresAt = expiries.sort()[0];
  const base = {
    identity: minted.identity,
    source: minted.source,
    expiresAt,
    capped: minted.capped,
    warnings: minted.warnings,
  };
  if (input.dryRun) {
    const secrets = input.namespaces.flatMap((namespace) =>
      bodies.map((body, i) => summary(namespace, body, input.kinds[i] ?? 'aws', 'would-write')),
    );
    return {
      outcome: 'dry-run',
      ...base,
      secrets,
      manifests: input.namespaces.flatMap((namespace) => bodies.map((body) => redactedManifest(namespace, body))),
    };
  }
  const { applySecret } = await import('../kube/secrets.ts');
  const secrets: MintedSecret[] = [];
  for (const namespace of input.namespaces) {
    for (const [i, body] of bodies.entries()) {
      const applied = await applySecret(input.kube, namespace, body, { force: input.force, signal: input.signal });
      input.log.debug(
        `secret ${namespace}/${body.name}: ${applied.action} at resourceVersion ${applied.secret.resourceVersion} after ${applied.attempts} attempt(s)`,
      );
      secrets.push(summary(namespace, body, input.kinds[i] ?? 'aws', applied.action));
    }
  }
  return { outcome: 'minted', ...base, secrets, manifests: [] };
}

/** Check get, create and update on Secrets in every namespace before minting anything. */
async function requireSecretAccess(input: MintInput): Promise<void> {
  const { grantHint, KubeApiError } = await import('../kube/errors.ts');
  const verbs = input.dryRun ? (['get'] as const) : SECRET_VERBS;
  for (const namespace of input.namespaces) {
    const allowed = await Promise.all(verbs.map((verb) => input.kube.canI(verb, 'secrets', namespace)));
    const missing = verbs.filter((_, i) => allowed[i] !== true);
    if (missing.length > 0) {
      const who = (await input.kube.whoAmI().catch(() => undefined)) ?? input.kube.connection.user;
      throw new KubeApiError(
        `${who.startsWith('the ') ? who : `"${who}"`} may not ${missing.join(', ')} secrets in namespace "${namespace}" (SelfSubjectAccessReview on ${input.kube.connection.server})`,
        {
          status: 403,
          reason: 'Forbidden',
          exitCode: 2,
          hint: grantHint({ verbs: [...SECRET_VERBS], resource: 'secrets', namespace, user: who }),
        },
      );
    }
  }
}

/** The earliest expiry of the managed Secrets when all of them outlive `withinMs`; else undefined. */
async function freshUntil(input: MintInput, withinMs: number): Promise<Date | undefined> {
  let earliest: Date | undefined;
  for (const namespace of input.namespaces) {
    for (const kind of input.kinds) {
      const secret = await input.kube.readSecret(namespace, input.names[kind]);
      const expires = Date.parse(secret?.annotations[ANNOTATION.expiresAt] ?? '');
      if (
        secret === undefined ||
        secret.labels[MANAGED_BY_LABEL] !== MANAGED_BY ||
        secret.type !== SECRET_TYPE[kind] ||
        !Number.isFinite(expires)
      )
        return undefined;
      if (expires - input.now().getTime() <= withinMs) return undefined;
      if (earliest === undefined || expires < earliest.getTime()) earliest = new Date(expires);
    }
  }
  return earliest;
}

interface Minted {
  readonly credentials: AwsCredentials;
  readonly identity: string;
  readonly source: string;
  readonly capped: boolean;
  readonly warnings: readonly string[];
}

async function mintAws(input: MintInput): Promise<Minted> {
  const [{ resolveCredentials }, { getCallerIdentity, assumeRole }, { explainAwsError }] = await Promise.all([
    import('../aws/credentials.ts'),
    import('../aws/sts.ts'),
    import('../aws/errors.ts'),
  ]);
  const settings = (credentials: AwsCredentials): AwsSettings => ({
    region: input.region,
    credentials,
    env: input.env,
  });
  const source = await resolveCredentials({ profile: input.profile, env: input.env });
  const caller = await getCallerIdentity(settings(source)).catch((error: unknown) => {
    throw explainAwsError(error, 'sts:GetCallerIdentity with the source credentials', input.profile);
  });
  input.log.debug(`source identity ${caller.arn}`);
  const warnings: string[] = [];
  let credentials: AwsCredentials;
  let description: string;
  let capped = false;
  if (input.roleArn !== undefined) {
    const assumed = await assumeRole(settings(source), caller, {
      roleArn: input.roleArn,
      durationSeconds: input.durationSeconds,
      explicit: input.durationExplicit,
      sessionName: 'preflight-mint-creds',
    }).catch((error: unknown) => {
      throw explainAwsError(error, `sts:AssumeRole ${input.roleArn ?? ''} as ${caller.arn}`, input.profile);
    });
    credentials = assumed.credentials;
    capped = assumed.capped;
    description = `AssumeRole ${input.roleArn} by ${caller.arn}`;
    if (capped)
      warnings.push(
        `${caller.arn} is a role session, so AWS caps the role it assumes at 1h (role chaining): the Secret lasts 1h, so rotate with --watch or the rotation CronJob`,
      );
  } else {
    credentials = source;
    description = `source credentials of ${caller.arn}`;
    if (input.kinds.includes('aws')) {
      warnings.push(
        source.sessionToken === undefined
          ? `writing long-lived IAM user keys of ${caller.arn} into the Secret: anyone who can read it can push until the keys are rotated; prefer --role-arn`
          : `writing the current session credentials of ${caller.arn} as they are; they expire with that session`,
      );
    }
  }
  // Never write what AWS has not just accepted.
  const verified = await getCallerIdentity(settings(credentials)).catch((error: unknown) => {
    throw explainAwsError(error, 'verifying the minted credentials with sts:GetCallerIdentity', input.profile);
  });
  return { credentials, identity: verified.arn, source: description, capped, warnings };
}

async function registryToken(input: MintInput, credentials: AwsCredentials): Promise<RegistryToken> {
  const ecr = input.ecr;
  if (ecr === undefined)
    throw new UsageError('--type registry needs the ECR registry: pass --ecr-uri or export ECR_URI', {
      hint: '--ecr-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model',
    });
  const [{ SdkEcrTokenSource }, { explainAwsError }] = await Promise.all([
    import('../aws/ecr.ts'),
    import('../aws/errors.ts'),
  ]);
  const source = new SdkEcrTokenSource(() => Promise.resolve({ region: ecr.region, credentials, env: input.env }));
  const token = await source.token(ecr.host).catch((error: unknown) => {
    throw explainAwsError(error, `ecr:GetAuthorizationToken for ${ecr.host}`, input.profile);
  });
  return { host: ecr.host, ...token };
}

function secretBody(
  input: MintInput,
  kind: SecretKind,
  minted: Minted,
  token: RegistryToken | undefined,
  mintedAt: string,
): SecretDraft {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  let data: Record<string, string>;
  let expiresAt: Date | undefined;
  if (kind === 'aws') {
    const c = minted.credentials;
    data = {
      AWS_ACCESS_KEY_ID: b64(c.accessKeyId),
      AWS_SECRET_ACCESS_KEY: b64(c.secretAccessKey),
      ...(c.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: b64(c.sessionToken) }),
      AWS_REGION: b64(input.region),
      AWS_DEFAULT_REGION: b64(input.region),
    };
    expiresAt = c.expiration;
  } else {
    if (token === undefined) throw new InternalError('no registry token after minting');
    const auth = b64(`${token.username}:${token.password}`);
    data = { '.dockerconfigjson': b64(JSON.stringify({ auths: { [token.host]: { auth } } })) };
    expiresAt = token.expiresAt;
  }
  return {
    name: input.names[kind],
    type: SECRET_TYPE[kind],
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: {
      [ANNOTATION.expiresAt]: expiresAt?.toISOString() ?? '',
      [ANNOTATION.mintedAt]: mintedAt,
      [ANNOTATION.identity]: minted.identity,
      [ANNOTATION.source]: minted.source,
    },
    data,
  };
}

function summary(namespace: string, body: SecretDraft, kind: SecretKind, action: MintedSecret['action']): MintedSecret {
  const expires = body.annotations[ANNOTATION.expiresAt];
  return {
    namespace,
    name: body.name,
    type: body.type,
    kind,
    action,
    expiresAt: expires === undefined || expires === '' ? undefined : expires,
  };
}

/** The manifest as it would be applied, each value replaced by its length: safe to print and diff. */
function redactedManifest(namespace: string, body: SecretDraft): object {
  const data = Object.fromEntries(
    Object.entries(body.data).map(([key, value]) => [key, `<redacted: ${Buffer.from(value, 'base64').length} bytes>`]),
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: body.type,
    metadata: { name: body.name, namespace, labels: body.labels, annotations: body.annotations },
    data,
  };
}
