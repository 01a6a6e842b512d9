import { Command, Option } from 'commander';
import type { GivenValue, GivenValues } from '../config/resolve.ts';
import type { ConfigFile } from '../config/schema.ts';
import { BUILDERS, DEFAULTS, SCOPES } from '../config/constants.ts';
import { parseIdList } from '../runner/select.ts';

export const OUTPUT_FORMATS = ['text', 'json', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The flags of `preflight check` that are not config values. */
export interface CheckFlags {
  readonly config?: string;
  readonly list?: boolean;
  readonly output: OutputFormat;
  readonly outputFile?: string;
}

/**
 * Options shared by every command that runs checks (check, and later run). A flag beats its env var,
 * and both beat preflight.yaml; the help text says which env var and which default apply.
 */
export function addCheckOptions(cmd: Command): Command {
  const option = (flags: string, description: string, env?: string): Option => {
    const o = new Option(flags, description);
    return env === undefined ? o : o.env(env);
  };
  return cmd
    .addOption(
      option(
        '--ecr-uri <uri>',
        'ECR repository to push to: <account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag]',
        'ECR_URI',
      ),
    )
    .addOption(option('--aws-region <region>', 'AWS region', 'AWS_REGION'))
    .addOption(option('--aws-profile <name>', 'AWS profile (e.g. an SSO profile)', 'AWS_PROFILE'))
    .addOption(option('--role-arn <arn>', 'IAM role the pipeline assumes', 'ROLE_ARN'))
    .addOption(option('--namespace <ns>', 'Kubernetes namespace of the pipeline (data science project)', 'DS_PROJECT'))
    .addOption(option('--docker-config <dir>', 'directory of the registry config.json', 'DOCKER_CONFIG'))
    .addOption(option('--builder <name>', 'image builder of the pipeline').choices(BUILDERS))
    .addOption(option('--model-dir <dir>', 'model directory (measured for scratch-space)'))
    .addOption(option('--model-size <size>', 'model size when the directory is not at hand, e.g. 48GiB'))
    .addOption(
      option('--manifests <path...>', 'pipeline manifests to inspect: files or folders of Tekton, KFP or Pod/Job YAML'),
    )
    .addOption(
      option(
        '--image <ref>',
        'an image the pipeline runs or pushes: registry reference, oci-archive:PATH or oci:DIR (repeatable)',
      ).argParser(collect),
    )
    .addOption(option('--base-image <ref>', 'base image of the build (FROM)'))
    .addOption(option('--builder-image <ref>', 'image of the builder step (e.g. the Kaniko executor)'))
    .addOption(option('--platform <os/arch>', 'target platform of the images').default(DEFAULTS.platform))
    .addOption(
      option('--service-account <name>', 'ServiceAccount the pipeline pods run as (irsa)').default(
        DEFAULTS.serviceAccount,
      ),
    )
    .addOption(
      option('--secret-name <name>', 'the AWS credentials Secret written by mint-creds (credentials-secret)').default(
        DEFAULTS.secretName,
      ),
    )
    .addOption(
      option(
        '--min-validity <duration>',
        "how long the Secret's credentials must stay valid (credentials-secret)",
      ).default(DEFAULTS.minValidity),
    )
    .addOption(option('--context <name>', 'kubeconfig context (default: the current one; in a pod: in-cluster)'))
    .addOption(
      option('--gated-model', 'the model is gated on Hugging Face: the hf token Secret is required (hf-token)'),
    )
    .addOption(option('--hf-secret-name <name>', 'Secret with the Hugging Face token').default(DEFAULTS.hfSecretName))
    .addOption(option('--plugin <file>', 'load checks from a plugin module (repeatable)').argParser(collect))
    .addOption(option('--only <ids>', 'run only these checks (comma-separated ids)'))
    .addOption(option('--skip <ids>', 'do not run these checks (comma-separated ids)'))
    .addOption(option('--timeout <duration>', 'time limit per check').default(DEFAULTS.timeout))
    .addOption(option('--concurrency <n>', 'checks run at once').default(String(DEFAULTS.concurrency)))
    .addOption(
      option('--scope <scope>', 'where this runs: laptop, pod, or auto (pod when KUBERNETES_SERVICE_HOST is set)')
        .choices(SCOPES)
        .default(DEFAULTS.scope),
    )
    .addOption(option('--strict', 'treat warnings as failures (exit 4)'))
    .addOption(
      option(
        '-c, --config <file>',
        'config file (default: ./preflight.yaml when present, whose plugins: are ignored: only a file named here or in PREFLIGHT_CONFIG may load code)',
        'PREFLIGHT_CONFIG',
      ),
    )
    .addOption(option('-o, --output <format>', 'report format').choices(OUTPUT_FORMATS).default('text'))
    .addOption(
      option(
        '--output-file <path>',
        'write the report to this file instead of stdout (the terminal keeps the live view); mode 0600, it names accounts and images',
      ),
    );
}

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? previous.map(String) : []), value];
}

const toIds = (v: unknown): unknown => (typeof v === 'string' ? parseIdList(v) : v);
const toInt = (v: unknown): unknown => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);

/** Which commander option feeds which config key, and how a flag string becomes the config type. */
const GIVEN: readonly { key: keyof ConfigFile; from: string; convert?: (v: unknown) => unknown }[] = [
  { key: 'ecrUri', from: 'ecrUri' },
  { key: 'awsRegion', from: 'awsRegion' },
  { key: 'awsProfile', from: 'awsProfile' },
  { key: 'roleArn', from: 'roleArn' },
  { key: 'namespace', from: 'namespace' },
  { key: 'dockerConfig', from: 'dockerConfig' },
  { key: 'builder', from: 'builder' },
  { key: 'modelDir', from: 'modelDir' },
  { key: 'modelSize', from: 'modelSize' },
  { key: 'manifests', from: 'manifests' },
  { key: 'images', from: 'image' },
  { key: 'baseImage', from: 'baseImage' },
  { key: 'builderImage', from: 'builderImage' },
  { key: 'platform', from: 'platform' },
  { key: 'plugins', from: 'plugin' },
  { key: 'only', from: 'only', convert: toIds },
  { key: 'skip', from: 'skip', convert: toIds },
  { key: 'timeout', from: 'timeout' },
  { key: 'concurrency', from: 'concurrency', convert: toInt },
  { key: 'scope', from: 'scope' },
  { key: 'strict', from: 'strict' },
  { key: 'serviceAccount', from: 'serviceAccount' },
  { key: 'secretName', from: 'secretName' },
  { key: 'minValidity', from: 'minValidity' },
  { key: 'kubeContext', from: 'context' },
  { key: 'gatedModel', from: 'gatedModel' },
  { key: 'hfSecretName', from: 'hfSecretName' },
];

/**
 * The values the user really gave (flag or env var), leaving defaults out so that preflight.yaml can
 * still set them. Commander records where each value came from.
 */
export function givenValues(cmd: Command): GivenValues {
  const values: Record<string, unknown> = cmd.opts();
  const given: Partial<Record<keyof ConfigFile, GivenValue>> = {};
  for (const spec of GIVEN) {
    const source = cmd.getOptionValueSource(spec.from);
    if (source !== 'cli' && source !== 'env') continue;
    const option = cmd.options.find((o) => o.attributeName() === spec.from);
    const origin =
      source === 'env' && option?.envVar !== undefined ? `env ${option.envVar}` : (option?.long ?? spec.from);
    const raw = values[spec.from];
    given[spec.key] = { value: spec.convert ? spec.convert(raw) : raw, origin };
  }
  return given;
}

export function checkCommandDefinition(): Command {
  return addCheckOptions(
    new Command('check')
      .description('run the pre-pipeline checks and report pass/warn/fail/skip with a remediation for each problem')
      .option('--list', 'list the checks (id, scope, title, what each inspects) and exit'),
  ).addHelpText(
    'after',
    `
Exit codes: 0 ok (warnings allowed), 1 internal error, 2 usage/config error,
            3 a check failed, 4 warnings under --strict, 130 interrupted.
Secrets (KFP_TOKEN) are read from the environment only, never from flags or files.`,
  );
}
