import { Command, Option } from 'commander';
import type { GivenValues } from '../config/resolve.ts';
import type { ConfigFile } from '../config/schema.ts';
import { DEFAULTS } from '../config/constants.ts';
import { UsageError } from '../errors.ts';
import { parseIdList } from '../runner/select.ts';
import { addModelcarOptions, type ModelcarFlags } from './modelcar-command.ts';

export interface RunFlags extends Omit<ModelcarFlags, 'modelDir' | 'digestFile'> {
  readonly modelDir?: string;
  readonly source?: string;
  readonly tag?: string;
  readonly imageUriFile?: string;
  readonly imageUrlFile?: string;
  readonly imageDigestFile?: string;
  readonly reportFile?: string;
  readonly only?: string;
  readonly skip?: string;
  readonly strict?: boolean;
  readonly timeout: string;
  readonly scope: 'laptop' | 'pod' | 'auto';
  readonly namespace?: string;
  readonly ecrUri?: string;
  readonly awsRegion?: string;
  readonly awsProfile?: string;
  readonly serviceAccount: string;
  readonly secretName: string;
  readonly config?: string;
}

/**
 * `preflight run`: the pipeline step. Checks first (the pod-scope set), then the modelcar build or
 * the push of an existing archive, then the pipeline outputs. Its flags are the modelcar build's
 * plus the outputs and the check selection; what the checks need comes from the same values.
 */
export function runCommandDefinition(): Command {
  return addModelcarOptions(
    new Command('run')
      .description(
        'the KFP / Tekton step: run the pod checks, stop on a failure (exit 3), else build and push the modelcar (or push --source), and write the pipeline outputs',
      )
      .addOption(new Option('--model-dir <dir>', 'the model files on the PVC (build a modelcar)').env('MODEL_DIR'))
      .addOption(
        new Option(
          '--source <archive>',
          'push this image instead of building one: oci-archive:PATH, oci:DIR or docker-archive:PATH',
        ),
      )
      .addOption(
        new Option(
          '--tag <tag>',
          'tag to append to --image when it has none (pipelines pass the repository and the tag apart)',
        ),
      ),
  )
    .addOption(
      new Option(
        '--image-uri-file <path>',
        'write the pushed repo@sha256:… here (a KFP outputPath; mode 0644, like the two below: the next step may run as another uid)',
      ),
    )
    .addOption(
      new Option(
        '--image-url-file <path>',
        'write the image reference as given, with its tag (Tekton result IMAGE_URL)',
      ),
    )
    .addOption(
      new Option('--image-digest-file <path>', 'write the manifest digest sha256:… (Tekton result IMAGE_DIGEST)'),
    )
    .addOption(
      new Option(
        '--report-file <path>',
        'write the JSON report (checks and push) here; mode 0600, it names accounts and images',
      ),
    )
    .addOption(new Option('--only <ids>', 'run only these checks (comma-separated ids)'))
    .addOption(new Option('--skip <ids>', 'do not run these checks (comma-separated ids)'))
    .addOption(new Option('--strict', 'warnings stop the step too (exit 4)'))
    .addOption(new Option('--timeout <duration>', 'time limit per check').default(DEFAULTS.timeout))
    .addOption(
      new Option('--scope <scope>', 'which checks: pod (the default for a pipeline step), laptop, or auto')
        .choices(['laptop', 'pod', 'auto'])
        .default('pod'),
    )
    .addOption(new Option('--namespace <ns>', 'namespace of the pipeline').env('DS_PROJECT'))
    .addOption(
      new Option('--ecr-uri <uri>', 'ECR repository for the AWS checks (default: --image, when it is on ECR)').env(
        'ECR_URI',
      ),
    )
    .addOption(new Option('--aws-region <region>', 'AWS region').env('AWS_REGION'))
    .addOption(new Option('--aws-profile <name>', 'AWS profile').env('AWS_PROFILE'))
    .addOption(
      new Option('--service-account <name>', 'ServiceAccount of the step (irsa check)').default(
        DEFAULTS.serviceAccount,
      ),
    )
    .addOption(
      new Option('--secret-name <name>', 'the AWS credentials Secret (credentials checks)').default(
        DEFAULTS.secretName,
      ),
    )
    .addOption(
      new Option(
        '-c, --config <file>',
        'preflight.yaml with check settings (default: ./preflight.yaml when present, whose plugins: are ignored: only a named file may load code)',
      ).env('PREFLIGHT_CONFIG'),
    )
    .addOption(
      new Option('-o, --output <format>', 'what stdout gets: the reference, or the JSON report')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      `
The check report and the upload progress go to stderr; stdout gets the pushed repo@sha256:….
Exit codes: 0 pushed, 3 a check failed (nothing pushed), 4 warnings under --strict (nothing
pushed), 2 bad input or an image that would break the modelcar contract (nothing pushed), 1 registry
or I/O failure.`,
    );
}

/** `--image REPO --tag T` → `REPO:T`; a tag in both places is ambiguous. */
export function imageWithTag(image: string, tag: string | undefined): string {
  if (tag === undefined || tag === '') return image;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  if (lastSegment.includes(':') || lastSegment.includes('@'))
    throw new UsageError(`--image ${image} already has a tag or digest, and --tag ${tag} gives another`, {
      hint: 'pass the repository without a tag in --image, or drop --tag',
    });
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag))
    throw new UsageError(`--tag "${tag}" is not a valid tag`, {
      hint: 'letters, digits, _ . and -, at most 128, not starting with . or -',
    });
  return `${image}:${tag}`;
}

/** Check values from the run's flags: the model, the base and the pipeline's own settings. */
export function runGivenValues(flags: RunFlags): GivenValues {
  if ((flags.modelDir === undefined) === (flags.source === undefined)) {
    throw new UsageError(
      flags.source === undefined
        ? 'nothing to push: pass --model-dir DIR (build a modelcar) or --source ARCHIVE'
        : '--model-dir and --source exclude each other',
      {
        hint: 'preflight run --model-dir /workspace/model --image "$ECR_URI:tag"',
      },
    );
  }
  const given: GivenValues = {};
  const set = (key: keyof ConfigFile, value: unknown, origin: string) => {
    if (value !== undefined) given[key] = { value, origin };
  };
  const ecrUri = flags.ecrUri ?? (/\.dkr[.-]ecr/.test(flags.image) ? flags.image : undefined);
  set('ecrUri', ecrUri, flags.ecrUri === undefined ? '--image' : '--ecr-uri');
  set('awsRegion', flags.awsRegion, '--aws-region');
  set('awsProfile', flags.awsProfile, '--aws-profile');
  set('namespace', flags.namespace, '--namespace');
  set('modelDir', flags.modelDir, '--model-dir');
  set('baseImage', flags.source === undefined ? flags.base : undefined, '--base');
  set('images', flags.source === undefined ? undefined : [flags.source], '--source');
  set('platform', flags.platform.split(',')[0]?.trim(), '--platform');
  set('builder', 'preflight', 'preflight run');
  set('only', flags.only === undefined ? undefined : parseIdList(flags.only), '--only');
  set('skip', flags.skip === undefined ? undefined : parseIdList(flags.skip), '--skip');
  set('strict', flags.strict, '--strict');
  set('timeout', flags.timeout, '--timeout');
  set('scope', flags.scope, '--scope');
  set('serviceAccount', flags.serviceAccount, '--service-account');
  set('secretName', flags.secretName, '--secret-name');
  return given;
}
