import { Command } from 'commander';
import { parseEcrUri } from '../aws/ecr-uri.ts';
import { parseDuration } from '../config/units.ts';
import { UsageError } from '../errors.ts';
import type { Terminal } from '../output/terminal.ts';
import { addOptions, type OptionValues, readOptions } from './options.ts';

const MINT_OPTIONS = [
  'namespaces',
  'type',
  'secretName',
  'registrySecretName',
  'roleArn',
  'duration',
  'sourceCredentials',
  'ecrUri',
  'awsRegion',
  'awsProfile',
  'context',
  'kubeconfig',
  'force',
  'dryRun',
  'rotateIfExpiringWithin',
  'watch',
  'output',
] as const;

export type MintFlags = OptionValues<(typeof MINT_OPTIONS)[number]>;

/** Default rotation margin of `--watch` when `--rotate-if-expiring-within` is not given. */
const WATCH_MARGIN_MS = 15 * 60_000;

export function mintCommandDefinition(): Command {
  const command = new Command('mint-creds').description(
    'mint short-lived AWS credentials (after aws sso login) and create or rotate the Kubernetes Secrets the pipeline uses',
  );
  return addOptions(command, MINT_OPTIONS).addHelpText(
    'after',
    `
Examples:
  aws sso login --profile dev
  preflight mint-creds --namespace team-a --role-arn arn:aws:iam::123456789012:role/ecr-push
  preflight mint-creds --type registry --ecr-uri 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model
  preflight mint-creds --rotate-if-expiring-within 3h        # from a CronJob

Secrets are labelled app.kubernetes.io/managed-by=preflight and annotated with preflight.dev/expires-at,
minted-at, identity and source (never a value). Exit codes: 0 written or still fresh, 1 AWS or API
failure, 2 bad input, missing permissions or credentials (nothing written), 143 --watch stopped by SIGTERM.`,
  );
}

export async function mintAction(command: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const env = term.io.env;
  const { values: flags, origin } = readOptions(command, MINT_OPTIONS, env);
  const parsed = parseMintFlags(flags);
  const [{ resolveRegion }, { connectKube }, { createKubeApi }, { mintCredentials }, view] = await Promise.all([
    import('../aws/clients.ts'),
    import('../kube/client.ts'),
    import('../kube/api.ts'),
    import('../commands/mint-creds.ts'),
    import('../output/mint-view.ts'),
  ]);
  const region = resolveRegion({ region: flags.awsRegion, ecrRegion: parsed.ecr?.region, env });
  const connection = await connectKube({ env, kubeconfig: flags.kubeconfig, context: flags.context });
  term.debug(
    `kubernetes API ${connection.server}, context ${connection.context ?? 'in-cluster'}, user ${connection.user}`,
  );
  const input = {
    ...parsed,
    names: { aws: flags.secretName, registry: flags.registrySecretName },
    roleArn: flags.roleArn,
    durationExplicit: origin('duration') !== undefined,
    sourceCredentials: flags.sourceCredentials === true,
    force: flags.force === true,
    dryRun: flags.dryRun === true,
    region,
    profile: flags.awsProfile === '' ? undefined : flags.awsProfile,
    kube: await createKubeApi(connection),
    env,
    log: term,
    now: () => new Date(),
    signal,
  };
  if (flags.watch === true) {
    const { watchMint } = await import('../commands/mint-watch.ts');
    await watchMint(input, {
      marginMs: parsed.rotateWithinMs ?? WATCH_MARGIN_MS,
      onEvent: (event) => {
        view.showWatchEvent(term, event, flags.output, new Date());
      },
    });
    // Only the signal ends a watch: main() reports it as the interruption (143 for SIGTERM).
    term.err('stopped watching\n');
    return 0;
  }
  view.showMintResult(term, await mintCredentials(input), flags.output, new Date());
  return 0;
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
export function parseMintFlags(flags: MintFlags): ParsedMint {
  const namespaces = [...new Set(flags.namespaces)];
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
