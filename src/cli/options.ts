import { Help, Option, type Command } from 'commander';
import type { GivenValues } from '../config/resolve.ts';
import type { ConfigKey } from '../config/schema.ts';
import { BUILDERS, DEFAULTS, SCOPES } from '../config/constants.ts';
import { parseSize } from '../config/units.ts';
import { InternalError, UsageError } from '../errors.ts';
import { DEFAULT_BASE } from '../modelcar/defaults.ts';
import { parseIdList } from '../runner/select.ts';

/**
 * One row per flag: its name, help, env var, the preflight.yaml key it also sets, its default and
 * how its text becomes a value. Every command picks its rows from OPTIONS, so a flag is declared
 * once and means the same everywhere it appears (two rows share a flag name only where the meaning
 * differs: `--concurrency` is checks at once for `check`, uploads at once for the pushing commands).
 *
 * Env vars are read here from the Io's env, not by commander (which reads process.env): main() is
 * called in-process by tests with an env of their own, and a flag still beats its env var. An
 * empty env var counts as unset, as a pipeline parameter left at its default '' should.
 */
export interface OptionSpec {
  readonly flags: string;
  readonly description: string;
  readonly env?: string;
  /** The preflight.yaml key this value also is: `check` and `run` validate it with the config schema. */
  readonly config?: ConfigKey;
  readonly default?: string | boolean | readonly string[];
  readonly choices?: readonly string[];
  readonly repeatable?: boolean;
  /**
   * What the user typed (or the default) to a value; throws a UsageError naming `flag` (the flag or
   * the env var the value came from). A method, so that a row's parse may take the one raw type it gets.
   */
  parse?(raw: RawValue, flag: string): unknown;
}

/** What commander hands over: a string, a list of them (repeatable, variadic), or a switch. */
type RawValue = string | readonly string[] | boolean;

const opt = <const S extends OptionSpec>(spec: S): S => spec;

/** A row whose value is one of `choices`, typed as such; an env var gets the same check a flag gets. */
const oneOf = <const C extends readonly string[]>(choices: C) => ({
  choices,
  parse: (raw: string, flag: string): C[number] => {
    const found = choices.find((c) => c === raw);
    if (found === undefined)
      throw new UsageError(`${flag}: "${raw}" is not one of ${choices.join(', ')}`, {
        hint: `use one of ${choices.join(', ')}`,
      });
    return found;
  },
});

const size =
  (example: string) =>
  (raw: string, flag: string): number => {
    const bytes = parseSize(raw);
    if (bytes === undefined || bytes < 1) throw new UsageError(`${flag}: "${raw}" is not a size`, { hint: example });
    return bytes;
  };

const count =
  (max: number, example: string) =>
  (raw: string, flag: string): number => {
    const n = /^\d+$/.test(raw) ? Number(raw) : 0;
    if (n < 1 || n > max) throw new UsageError(`${flag}: "${raw}" is not a number from 1 to ${max}`, { hint: example });
    return n;
  };

export const OPTIONS = {
  // Where the image goes and what the AWS checks look at.
  ecrUri: opt({
    flags: '--ecr-uri <uri>',
    description: 'ECR repository: <account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag]',
    env: 'ECR_URI',
    config: 'ecrUri',
  }),
  awsRegion: opt({
    flags: '--aws-region <region>',
    description: 'AWS region (default: AWS_DEFAULT_REGION, then the ECR URI)',
    env: 'AWS_REGION',
    config: 'awsRegion',
  }),
  awsProfile: opt({
    flags: '--aws-profile <name>',
    description: 'AWS profile, e.g. the SSO profile you logged in with',
    env: 'AWS_PROFILE',
    config: 'awsProfile',
  }),
  roleArn: opt({
    flags: '--role-arn <arn>',
    description: 'IAM role the pipeline assumes (mint-creds: assumed with sts:AssumeRole)',
    env: 'ROLE_ARN',
    config: 'roleArn',
  }),
  namespace: opt({
    flags: '--namespace <ns>',
    description: 'Kubernetes namespace of the pipeline (data science project)',
    env: 'DS_PROJECT',
    config: 'namespace',
  }),
  namespaces: opt({
    flags: '-n, --namespace <ns>',
    description: 'namespace to write to (repeatable)',
    env: 'DS_PROJECT',
    repeatable: true,
    default: [],
  }),
  context: opt({
    flags: '--context <name>',
    description: 'kubeconfig context (default: the current one, as oc login sets it; in a pod: in-cluster)',
    config: 'kubeContext',
  }),
  kubeconfig: opt({
    flags: '--kubeconfig <path>',
    description: 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)',
  }),
  serviceAccount: opt({
    flags: '--service-account <name>',
    description: 'ServiceAccount the pipeline pods run as (irsa)',
    config: 'serviceAccount',
    default: DEFAULTS.serviceAccount,
  }),
  secretName: opt({
    flags: '--secret-name <name>',
    description: 'the AWS credentials Secret that mint-creds writes',
    config: 'secretName',
    default: DEFAULTS.secretName,
  }),

  // What `check` inspects.
  dockerConfig: opt({
    flags: '--docker-config <dir>',
    description: 'directory of the registry config.json',
    env: 'DOCKER_CONFIG',
    config: 'dockerConfig',
  }),
  builder: opt({
    flags: '--builder <name>',
    description: 'image builder of the pipeline',
    ...oneOf(BUILDERS),
    config: 'builder',
  }),
  checkModelDir: opt({
    flags: '--model-dir <dir>',
    description: 'model directory (measured for scratch-space)',
    env: 'MODEL_DIR',
    config: 'modelDir',
  }),
  modelSize: opt({
    flags: '--model-size <size>',
    description: 'model size when the directory is not at hand, e.g. 48GiB',
    config: 'modelSize',
  }),
  manifests: opt({
    flags: '--manifests <path...>',
    description: 'pipeline manifests to inspect: files or folders of Tekton, KFP or Pod/Job YAML',
    config: 'manifests',
  }),
  images: opt({
    flags: '--image <ref>',
    description: 'an image the pipeline runs or pushes: registry reference, oci-archive:PATH or oci:DIR (repeatable)',
    repeatable: true,
    config: 'images',
  }),
  baseImage: opt({ flags: '--base-image <ref>', description: 'base image of the build (FROM)', config: 'baseImage' }),
  builderImage: opt({
    flags: '--builder-image <ref>',
    description: 'image of the builder step (e.g. the Kaniko executor)',
    config: 'builderImage',
  }),
  platform: opt({
    flags: '--platform <os/arch>',
    description: 'target platform of the images',
    config: 'platform',
    default: DEFAULTS.platform,
  }),
  minValidity: opt({
    flags: '--min-validity <duration>',
    description: "how long the Secret's credentials must stay valid (credentials-secret)",
    config: 'minValidity',
    default: DEFAULTS.minValidity,
  }),
  gatedModel: opt({
    flags: '--gated-model',
    description: 'the model is gated on Hugging Face: the hf token Secret is required (hf-token)',
    config: 'gatedModel',
  }),
  hfSecretName: opt({
    flags: '--hf-secret-name <name>',
    description: 'Secret with the Hugging Face token',
    config: 'hfSecretName',
    default: DEFAULTS.hfSecretName,
  }),

  // Which checks run, and how.
  plugin: opt({
    flags: '--plugin <file>',
    description: 'load checks from a plugin module (repeatable)',
    repeatable: true,
    config: 'plugins',
  }),
  only: opt({
    flags: '--only <ids>',
    description: 'run only these checks (comma-separated ids)',
    config: 'only',
    parse: (raw: string) => parseIdList(raw),
  }),
  skip: opt({
    flags: '--skip <ids>',
    description: 'do not run these checks (comma-separated ids)',
    config: 'skip',
    parse: (raw: string) => parseIdList(raw),
  }),
  timeout: opt({
    flags: '--timeout <duration>',
    description: 'time limit per check',
    config: 'timeout',
    default: DEFAULTS.timeout,
  }),
  checkConcurrency: opt({
    flags: '--concurrency <n>',
    description: 'checks run at once',
    config: 'concurrency',
    default: String(DEFAULTS.concurrency),
    // Converted only: the config schema checks it, the same way as in preflight.yaml.
    parse: (raw: string): number | string => (/^\d+$/.test(raw) ? Number(raw) : raw),
  }),
  scope: opt({
    flags: '--scope <scope>',
    description: 'which checks: laptop, pod, or auto (pod when KUBERNETES_SERVICE_HOST is set)',
    ...oneOf(SCOPES),
    config: 'scope',
    default: DEFAULTS.scope,
  }),
  strict: opt({ flags: '--strict', description: 'treat warnings as failures (exit 4)', config: 'strict' }),
  config: opt({
    flags: '-c, --config <file>',
    description:
      'config file (default: ./preflight.yaml when present, whose plugins: are ignored: only a file named here or in PREFLIGHT_CONFIG may load code)',
    env: 'PREFLIGHT_CONFIG',
  }),

  // What a modelcar build puts in the image.
  modelDir: opt({
    flags: '--model-dir <dir>',
    description: 'the model files, e.g. on the pipeline PVC',
    env: 'MODEL_DIR',
  }),
  image: opt({ flags: '--image <ref>', description: 'where to push, with a tag, e.g. $ECR_URI:mistral-24b' }),
  base: opt({
    flags: '--base <ref>',
    description: 'base image with sh, ln and sleep; pin it with @sha256:… in production',
    default: DEFAULT_BASE,
  }),
  platforms: opt({
    flags: '--platform <list>',
    description: 'comma-separated os/arch; several give an image index sharing the model layers',
    default: 'linux/amd64',
    parse: parsePlatforms,
  }),
  modelsPath: opt({
    flags: '--models-path <path>',
    description: 'where the model goes in the image',
    default: '/models',
  }),
  layerThreshold: opt({
    flags: '--layer-threshold <size>',
    description: 'files this big or bigger get a layer of their own',
    default: '64MiB',
    parse: size('e.g. --layer-threshold 64MiB'),
  }),
  maxLayers: opt({
    flags: '--max-layers <n>',
    description:
      "layers the image may have, the base's included; large files share layers when they would exceed it (auto: 500 on ECR, no limit elsewhere)",
    default: 'auto',
    parse: (raw: string, flag: string): number | 'auto' => {
      if (raw === 'auto') return 'auto';
      if (/^\d+$/.test(raw) && Number(raw) >= 1) return Number(raw);
      throw new UsageError(`${flag}: "${raw}" is not auto or a number of layers`, {
        hint: "e.g. --max-layers 500 (ECR's limit), or leave it at auto",
      });
    },
  }),
  label: opt({
    flags: '--label <key=value>',
    description: 'image label (repeatable)',
    repeatable: true,
    default: [],
    parse: parseLabels,
  }),
  cacheDir: opt({
    flags: '--cache-dir <dir>',
    description: 'layer digest cache (default: $XDG_CACHE_HOME/preflight or ~/.cache/preflight)',
  }),
  cache: opt({ flags: '--no-cache', description: 'neither read nor write the digest cache', default: true }),

  // How the pushing commands talk to the registry.
  uploadMode: opt({
    flags: '--upload-mode <mode>',
    description: 'chunked PATCHes with Content-Range, one streamed PATCH, or auto (chunked for ECR, stream elsewhere)',
    ...oneOf(['chunked', 'stream', 'auto']),
    default: 'auto',
  }),
  chunkSize: opt({
    flags: '--chunk-size <size>',
    description: 'part size in chunked mode (ECR: 5MiB to 10MiB)',
    default: '8MiB',
    parse: size('e.g. --chunk-size 8MiB'),
  }),
  uploadConcurrency: opt({
    flags: '--concurrency <n>',
    description: 'blobs uploaded at once; each holds at most one part in memory',
    default: '4',
    parse: count(64, 'e.g. --concurrency 4'),
  }),
  insecureRegistry: opt({
    flags: '--insecure-registry <host>',
    description: 'allow plain HTTP to this registry (loopback hosts are always allowed); repeatable',
    repeatable: true,
    default: [],
  }),
  caFile: opt({
    flags: '--ca-file <path>',
    description: 'extra CA certificates (PEM) to trust, besides the system ones and NODE_EXTRA_CA_CERTS',
  }),
  digestFile: opt({
    flags: '--digest-file <path>',
    description:
      'write the pushed repo@sha256:… to this file (a pipeline output; mode 0644, the next step may run as another uid)',
  }),

  // The pipeline step's own.
  source: opt({
    flags: '--source <archive>',
    description: 'push this image instead of building one: oci-archive:PATH, oci:DIR or docker-archive:PATH',
  }),
  tag: opt({
    flags: '--tag <tag>',
    description: 'tag to append to --image when it has none (pipelines pass the repository and the tag apart)',
  }),
  imageUriFile: opt({
    flags: '--image-uri-file <path>',
    description:
      'write the pushed repo@sha256:… here (a KFP outputPath; mode 0644: the next step may run as another uid)',
  }),
  imageUrlFile: opt({
    flags: '--image-url-file <path>',
    description: 'write the image reference as given, with its tag (Tekton result IMAGE_URL; mode 0644)',
  }),
  imageDigestFile: opt({
    flags: '--image-digest-file <path>',
    description: 'write the manifest digest sha256:… (Tekton result IMAGE_DIGEST; mode 0644)',
  }),
  reportFile: opt({
    flags: '--report-file <path>',
    description: 'write the JSON report (checks and push) here; mode 0600, it names accounts and images',
  }),

  // mint-creds.
  type: opt({
    flags: '--type <type>',
    description:
      'aws: an Opaque Secret with AWS_* keys; registry: a kubernetes.io/dockerconfigjson Secret with an ECR token (no AWS keys in the pipeline); both',
    ...oneOf(['aws', 'registry', 'both']),
    default: 'aws',
  }),
  registrySecretName: opt({
    flags: '--registry-secret-name <name>',
    description: 'name of the registry (dockerconfigjson) Secret',
    default: 'ecr-registry-credentials',
  }),
  duration: opt({
    flags: '--duration <duration>',
    description:
      'session length of the assumed role, 15m to 12h (a role session can chain at most 1h: used automatically unless given)',
    default: '12h',
  }),
  sourceCredentials: opt({
    flags: '--source-credentials',
    description:
      'write the resolved credentials as they are (e.g. long-lived IAM user keys) instead of assuming a role',
  }),
  force: opt({ flags: '--force', description: 'overwrite and adopt a Secret that preflight does not manage' }),
  dryRun: opt({
    flags: '--dry-run',
    description: 'mint and verify, then print the Secret manifests with every value redacted instead of writing them',
  }),
  rotateIfExpiringWithin: opt({
    flags: '--rotate-if-expiring-within <duration>',
    description: 'do nothing (exit 0) while every Secret stays valid longer than this, e.g. 3h',
  }),
  watch: opt({
    flags: '--watch',
    description: 'keep running and rotate before expiry (jittered retries); SIGTERM stops it (exit 143)',
  }),

  // diagnose.
  file: opt({
    flags: '-f, --file <log>',
    description: 'the log to read (default: standard input), e.g. from oc logs POD --all-containers',
  }),

  // Output.
  output: opt({
    flags: '-o, --output <format>',
    description: 'result format',
    ...oneOf(['text', 'json']),
    default: 'text',
  }),
  reportFormat: opt({
    flags: '-o, --output <format>',
    description: 'report format',
    ...oneOf(['text', 'json', 'junit']),
    default: 'text',
  }),
  outputFile: opt({
    flags: '--output-file <path>',
    description:
      'write the report to this file instead of stdout (the terminal keeps the live view); mode 0600, it names accounts and images',
  }),
} as const;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<S> = S extends { parse: (raw: never, flag: string) => infer T }
  ? T
  : S extends { repeatable: true }
    ? string[]
    : S extends { flags: `${string}<${string}` }
      ? S extends { flags: `${string}...>` }
        ? string[]
        : string
      : boolean;

/** The values of the named options: a row with a default always has one. */
export type OptionValues<N extends OptionName> = {
  readonly [K in N]: (typeof OPTIONS)[K] extends { default: unknown }
    ? ValueOf<(typeof OPTIONS)[K]>
    : ValueOf<(typeof OPTIONS)[K]> | undefined;
};

export interface ReadOptions<N extends OptionName> {
  readonly values: OptionValues<N>;
  /** The config-backed values the user really gave (flag or env var), for the check run to merge over preflight.yaml. */
  readonly given: GivenValues;
  /** `--model-dir` or `env MODEL_DIR`, or undefined for a default: for error messages. */
  readonly origin: (name: N) => string | undefined;
}

/** Per command: defaults that differ from the table's (run's checks default to the pod scope). */
type Overrides<N extends OptionName> = { readonly defaults?: Partial<Record<N, string>> };

/** Add the named rows to `command`, in the order given. */
export function addOptions<N extends OptionName>(
  command: Command,
  names: readonly N[],
  overrides: Overrides<N> = {},
): Command {
  for (const name of names) {
    const spec: OptionSpec = OPTIONS[name];
    const option = new Option(spec.flags, spec.description);
    if (spec.choices !== undefined) option.choices(spec.choices);
    if (spec.repeatable === true) option.argParser(collect);
    const fallback = overrides.defaults?.[name] ?? spec.default;
    // --no-x's default true is commander's own; repeatable rows start from [] in the reader.
    if (fallback !== undefined && !spec.flags.startsWith('--no-') && spec.repeatable !== true) option.default(fallback);
    if (spec.env !== undefined) ENV_VARS.set(option, spec.env);
    command.addOption(option);
  }
  return command;
}

/**
 * The values after parsing: flag, else env var (from `env`), else default, each checked and
 * converted by its row's parse.
 */
export function readOptions<N extends OptionName>(
  command: Command,
  names: readonly N[],
  env: Readonly<Record<string, string | undefined>>,
): ReadOptions<N>;
// The implementation builds the values row by row, which TypeScript cannot follow into the mapped
// type; the signature above is what each row's parse and default guarantee.
export function readOptions(
  command: Command,
  names: readonly OptionName[],
  env: Readonly<Record<string, string | undefined>>,
): { values: Record<string, unknown>; given: GivenValues; origin: (name: OptionName) => string | undefined } {
  const raw: Record<string, unknown> = command.opts();
  const values: Record<string, unknown> = {};
  const origins = new Map<OptionName, string>();
  const given: GivenValues = {};
  for (const name of names) {
    const spec: OptionSpec = OPTIONS[name];
    const option = command.options.find((o) => o.flags === spec.flags);
    if (option === undefined) throw new InternalError(`option ${name} was not added to ${command.name()}`);
    const flag = option.long ?? spec.flags;
    const key = option.attributeName();
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    let value = rawValue(raw[key]);
    let origin: string | undefined;
    if (command.getOptionValueSource(key) === 'cli') origin = flag;
    else if (fromEnv !== undefined && fromEnv !== '') {
      value = spec.repeatable === true ? [fromEnv] : fromEnv;
      origin = `env ${spec.env ?? ''}`;
    }
    if (value === undefined && typeof spec.default === 'object') value = [...spec.default];
    const parsed = value !== undefined && spec.parse !== undefined ? spec.parse(value, origin ?? flag) : value;
    values[name] = parsed;
    if (origin === undefined) continue;
    origins.set(name, origin);
    if (spec.config !== undefined) given[spec.config] = { value: parsed, origin };
  }
  return { values, given, origin: (name) => origins.get(name) };
}

function rawValue(value: unknown): RawValue | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(String);
  return undefined;
}

/** A value the command cannot do without; commander's own mandatory check cannot see env vars read here. */
export function required<T>(value: T | undefined, name: OptionName): T {
  if (value !== undefined && value !== '') return value;
  const spec: OptionSpec = OPTIONS[name];
  const flags = spec.flags.replace(/^-\w, /, '');
  const flag = flags.split(' ')[0] ?? flags;
  throw new UsageError(`${flag} is required`, {
    hint: `pass ${flags}${spec.env === undefined ? '' : `, or set ${spec.env}`}`,
  });
}

// Which env var each Option reads: for the help text, which commander only writes for its own env support.
const ENV_VARS = new WeakMap<Option, string>();

/** Help that names each option's env var beside its default, as commander's own env support would. */
export const HELP_CONFIG = {
  optionDescription(this: Help, option: Option): string {
    const text = Help.prototype.optionDescription.call(this, option);
    const env = ENV_VARS.get(option);
    if (env === undefined) return text;
    return text === option.description ? `${text} (env: ${env})` : `${text.slice(0, -1)}, env: ${env})`;
  },
};

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? previous.map(String) : []), value];
}

function parsePlatforms(raw: string, flag: string): string[] {
  const platforms = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (platforms.length === 0) throw new UsageError(`${flag} is empty`, { hint: 'e.g. --platform linux/amd64' });
  for (const platform of platforms) {
    if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(platform))
      throw new UsageError(`${flag}: "${platform}" is not os/arch[/variant]`, {
        hint: 'e.g. --platform linux/amd64,linux/arm64',
      });
  }
  return [...new Set(platforms)];
}

function parseLabels(raw: readonly string[], flag: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const label of raw) {
    const at = label.indexOf('=');
    if (at <= 0)
      throw new UsageError(`${flag} "${label}" is not key=value`, {
        hint: 'e.g. --label org.opencontainers.image.title=mistral-24b',
      });
    labels[label.slice(0, at)] = label.slice(at + 1);
  }
  return labels;
}
