import { Command, Option } from 'commander';
import { parseEcrUri } from '../aws/ecr-uri.ts';
import { parseDuration } from '../config/units.ts';
import { UsageError } from '../errors.ts';

export interface MintFlags {
  readonly namespace: readonly string[];
  readonly secretName: string;
  readonly registrySecretName: string;
  readonly type: 'aws' | 'registry' | 'both';
  readonly roleArn?: string;
  readonly duration: string;
  readonly sourceCredentials?: boolean;
  readonly ecrUri?: string;
  readonly awsRegion?: string;
  readonly awsProfile?: string;
  readonly context?: string;
  readonly kubeconfig?: string;
  readonly force?: boolean;
  readonly dryRun?: boolean;
  readonly rotateIfExpiringWithin?: string;
  readonly watch?: boolean;
  readonly output: 'text' | 'json';
}

export function mintCommandDefinition(): Command {
  return new Command('mint-creds')
    .description(
      'mint short-lived AWS credentials (after aws sso login) and create or rotate the Kubernetes Secrets the pipeline uses',
    )
    .addOption(
      new Option('-n, --namespace <ns>', 'namespace to write to (repeatable; default $DS_PROJECT)')
        .argParser(collect)
        .default([]),
    )
    .addOption(
      new Option(
        '--type <type>',
        'aws: an Opaque Secret with AWS_* keys; registry: a kubernetes.io/dockerconfigjson Secret with an ECR token (no AWS keys in the pipeline); both',
      )
        .choices(['aws', 'registry', 'both'])
        .default('aws'),
    )
    .addOption(new Option('--secret-name <name>', 'name of the aws Secret').default('aws-ecr-credentials'))
    .addOption(
      new Option('--registry-secret-name <name>', 'name of the registry (dockerconfigjson) Secret').default(
        'ecr-registry-credentials',
      ),
    )
    .addOption(new Option('--role-arn <arn>', 'role to assume with sts:AssumeRole').env('ROLE_ARN'))
    .addOption(
      new Option(
        '--duration <duration>',
        'session length of the assumed role, 15m to 12h (a role session can chain at most 1h: used automatically unless given)',
      ).default('12h'),
    )
    .addOption(
      new Option(
        '--source-credentials',
        'write the resolved credentials as they are (e.g. long-lived IAM user keys) instead of assuming a role',
      ),
    )
    .addOption(
      new Option('--ecr-uri <uri>', 'the ECR repository (its host and region go into the registry Secret)').env(
        'ECR_URI',
      ),
    )
    .addOption(
      new Option('--aws-region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the ECR URI)').env(
        'AWS_REGION',
      ),
    )
    .addOption(
      new Option('--aws-profile <name>', 'AWS profile, e.g. the SSO profile you logged in with').env('AWS_PROFILE'),
    )
    .addOption(
      new Option(
        '--context <name>',
        'kubeconfig context (default: the current one, as oc login sets it; in a pod: in-cluster)',
      ),
    )
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)'))
    .addOption(new Option('--force', 'overwrite and adopt a Secret that preflight does not manage'))
    .addOption(
      new Option(
        '--dry-run',
        'mint and verify, then print the Secret manifests with every value redacted instead of writing them',
      ),
    )
    .addOption(
      new Option(
        '--rotate-if-expiring-within <duration>',
        'do nothing (exit 0) while every Secret stays valid longer than this, e.g. 3h',
      ),
    )
    .addOption(
      new Option('--watch', 'keep running and rotate before expiry (jittered retries); stops cleanly on SIGTERM'),
    )
    .addOption(new Option('-o, --output <format>', 'result format').choices(['text', 'json']).default('text'))
    .addHelpText(
      'after',
      `
Examples:
  aws sso login --profile dev
  preflight mint-creds --namespace team-a --role-arn arn:aws:iam::123456789012:role/ecr-push
  preflight mint-creds --type registry --ecr-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model
  preflight mint-creds --rotate-if-expiring-within 3h        # from a CronJob

Secrets are labelled app.kubernetes.io/managed-by=preflight and annotated with preflight.dev/expires-at,
minted-at, identity and source (never a value). Exit codes: 0 written or still fresh, 1 AWS or API
failure, 2 bad input, missing permissions or credentials (nothing written).`,
    );
}

export interface ParsedMint {
  readonly namespaces: string[];
  readonly kinds: ('aws' | 'registry')[];
  readonly durationSeconds: number;
  readonly rotateWithinMs: number | undefined;
  readonly ecr: { host: string; region: string } | undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Check every flag before anything is contacted. */
export function parseMintFlags(flags: MintFlags, env: Readonly<Record<string, string | undefined>>): ParsedMint {
  const namespaces =
    flags.namespace.length > 0
      ? [...new Set(flags.namespace)]
      : env.DS_PROJECT !== undefined && env.DS_PROJECT !== ''
        ? [env.DS_PROJECT]
        : [];
  if (namespaces.length === 0)
    throw new UsageError('no namespace: pass --namespace NS or export DS_PROJECT', {
      hint: 'e.g. --namespace team-a (the data science project)',
    });
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns))
      throw new UsageError(`--namespace "${ns}" is not a Kubernetes namespace name`, {
        hint: 'lowercase letters, digits and -, at most 63 characters',
      });
  }
  for (const [flag, name] of [
    ['--secret-name', flags.secretName],
    ['--registry-secret-name', flags.registrySecretName],
  ] as const) {
    if (!DNS_SUBDOMAIN.test(name))
      throw new UsageError(`${flag} "${name}" is not a valid Secret name`, {
        hint: 'lowercase letters, digits, - and ., e.g. aws-ecr-credentials',
      });
  }
  const kinds: ('aws' | 'registry')[] = flags.type === 'both' ? ['aws', 'registry'] : [flags.type];
  if (kinds.includes('registry') && kinds.includes('aws') && flags.secretName === flags.registrySecretName) {
    throw new UsageError('--secret-name and --registry-secret-name are the same', {
      hint: 'with --type both, the two Secrets need different names',
    });
  }
  const duration = parseDuration(flags.duration);
  if (duration === undefined || duration < 900_000 || duration > 43_200_000)
    throw new UsageError(`--duration "${flags.duration}" is not between 15m and 12h`, {
      hint: "AWS role sessions last 15m to 12h (and the role's MaxSessionDuration), e.g. --duration 12h",
    });
  let rotateWithinMs: number | undefined;
  if (flags.rotateIfExpiringWithin !== undefined) {
    rotateWithinMs = parseDuration(flags.rotateIfExpiringWithin);
    if (rotateWithinMs === undefined || rotateWithinMs <= 0)
      throw new UsageError(`--rotate-if-expiring-within "${flags.rotateIfExpiringWithin}" is not a duration`, {
        hint: 'e.g. --rotate-if-expiring-within 3h',
      });
  }
  if (flags.roleArn !== undefined && !ROLE_ARN.test(flags.roleArn)) {
    throw new UsageError(`--role-arn "${flags.roleArn}" is not an IAM role ARN`, {
      hint: 'e.g. --role-arn arn:aws:iam::123456789012:role/ecr-push (ROLE_ARN)',
    });
  }
  if (flags.roleArn !== undefined && flags.sourceCredentials === true)
    throw new UsageError('--role-arn and --source-credentials exclude each other', {
      hint: 'assume the role, or write the source credentials, not both',
    });
  if (kinds.includes('aws') && flags.roleArn === undefined && flags.sourceCredentials !== true) {
    throw new UsageError(
      '--type aws needs --role-arn (or ROLE_ARN) to mint a role session, or --source-credentials to write the current credentials as they are',
      {
        hint: 'e.g. --role-arn arn:aws:iam::123456789012:role/ecr-push; or --type registry, which needs no AWS keys in the pipeline',
      },
    );
  }
  let ecr: { host: string; region: string } | undefined;
  if (flags.ecrUri !== undefined && flags.ecrUri !== '') {
    const parsed = parseEcrUri(flags.ecrUri);
    if (!parsed.ok)
      throw new UsageError(`--ecr-uri "${flags.ecrUri}": ${parsed.reason}`, {
        hint:
          parsed.suggestion === undefined
            ? 'e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model'
            : `did you mean ${parsed.suggestion}?`,
      });
    ecr = { host: parsed.value.host, region: parsed.value.region };
  }
  if (kinds.includes('registry') && ecr === undefined)
    throw new UsageError(`--type ${flags.type} needs the ECR registry: pass --ecr-uri or export ECR_URI`, {
      hint: '--ecr-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model',
    });
  return { namespaces, kinds, durationSeconds: Math.round(duration / 1000), rotateWithinMs, ecr };
}

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? previous.map(String) : []), value];
}
