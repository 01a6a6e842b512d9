import { Command } from 'commander';
import type { GivenValues } from '../config/resolve.ts';
import { UsageError } from '../errors.ts';
import type { Terminal } from '../output/terminal.ts';
import { renderWarning } from '../output/warning.ts';
import { IMAGE_OPTIONS, modelcarInput } from './modelcar-command.ts';
import { addOptions, type OptionValues, readOptions, required } from './options.ts';
import { uploadInput } from './push-command.ts';
import { withProgress, writeSharedOutputs } from './progress.ts';

/**
 * `run` takes the modelcar build's image rows, --source instead of --model-dir, the pipeline
 * outputs, and the rows of the checks a pipeline pod runs. It has no --digest-file: --image-uri-file
 * is that output under the name KFP and Tekton give it.
 */
const RUN_OPTIONS = [
  'modelDir',
  'source',
  'tag',
  ...IMAGE_OPTIONS,
  'imageUriFile',
  'imageUrlFile',
  'imageDigestFile',
  'reportFile',
  'only',
  'skip',
  'strict',
  'timeout',
  'scope',
  'namespace',
  'ecrUri',
  'awsRegion',
  'awsProfile',
  'serviceAccount',
  'secretName',
  'config',
  'output',
] as const;

type RunValues = OptionValues<(typeof RUN_OPTIONS)[number]>;

export function runCommandDefinition(): Command {
  const command = new Command('run').description(
    'the KFP / Tekton step: run the pod checks, stop on a failure (exit 3), else build and push the modelcar (or push --source), and write the pipeline outputs',
  );
  return addOptions(command, RUN_OPTIONS, { defaults: { scope: 'pod' } }).addHelpText(
    'after',
    `
--image and one of --model-dir or --source are required. --ecr-uri defaults to --image when it is on ECR.
The check report and the upload progress go to stderr; stdout gets the pushed repo@sha256:….
Exit codes: 0 pushed, 3 a check failed (nothing pushed), 4 warnings under --strict (nothing
pushed), 2 bad input or an image that would break the modelcar contract (nothing pushed), 1 registry
or I/O failure, 130/143 interrupted (a cancelled TaskRun or KFP run sends SIGTERM).`,
  );
}

export async function runAction(command: Command, term: Terminal, signal: AbortSignal): Promise<number> {
  const read = readOptions(command, RUN_OPTIONS, term.io.env);
  const { values } = read;
  const image = imageWithTag(required(values.image, 'image'), values.tag);
  const given = runGivenValues(values, read.given, image);
  const [
    { runStep },
    { renderText },
    { renderChecksStopped, renderRunReport },
    { PRIVATE_FILE, probeOutputFiles, writeFileAtomic },
  ] = await Promise.all([
    import('../commands/run.ts'),
    import('../output/text.ts'),
    import('../output/run-report.ts'),
    import('../util/atomic-file.ts'),
  ]);
  const env = term.io.env;
  const outputs = [
    { flag: '--image-uri-file', path: values.imageUriFile },
    { flag: '--image-url-file', path: values.imageUrlFile },
    { flag: '--image-digest-file', path: values.imageDigestFile },
    { flag: '--report-file', path: values.reportFile },
  ];
  const publish =
    values.source === undefined
      ? ({ kind: 'build', input: { ...modelcarInput(values, values.modelDir ?? '', image), env, log: term } } as const)
      : ({
          kind: 'push',
          input: { source: values.source, destination: image, ...uploadInput(values), env, log: term },
        } as const);
  // Before the checks (which talk to registries too) and the push: an output the step cannot write
  // fails now, with nothing pushed.
  await probeOutputFiles(outputs);
  const result = await runStep({
    checks: {
      given,
      configPath: values.config,
      env,
      log: term,
      onWarning: (message) => {
        term.err(renderWarning(message, term.errStyle));
      },
    },
    publish,
    signal,
    onChecks: (report) => {
      term.err(renderText(report, term.errStyle));
    },
    upload: (work) => withProgress(term, false, [], work),
  });
  // The report names images, accounts and namespaces: private. The result files are shared.
  if (values.reportFile !== undefined) await writeFileAtomic(values.reportFile, renderRunReport(result), PRIVATE_FILE);
  if (result.outcome === 'checks-failed') {
    term.err(renderChecksStopped(result.exitCode));
    if (values.output === 'json') term.out(renderRunReport(result));
    return result.exitCode;
  }
  await writeSharedOutputs([
    { path: values.imageUriFile, text: result.reference },
    { path: values.imageUrlFile, text: image },
    { path: values.imageDigestFile, text: result.digest },
  ]);
  term.out(values.output === 'json' ? renderRunReport(result) : `${result.reference}\n`);
  return 0;
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

/**
 * The check values of the step: what the user gave of the check rows, and what the step itself
 * knows (the model, the base, the platform, the ECR repository when --image is on ECR, the builder).
 * The step's defaults (pod scope, service account, Secret name) are given too: they are the step's.
 */
function runGivenValues(values: RunValues, fromUser: GivenValues, image: string): GivenValues {
  if ((values.modelDir === undefined) === (values.source === undefined)) {
    throw new UsageError(
      values.source === undefined
        ? 'nothing to push: pass --model-dir DIR (build a modelcar) or --source ARCHIVE'
        : '--model-dir and --source exclude each other',
      { hint: 'preflight run --model-dir /workspace/model --image "$ECR_URI:tag"' },
    );
  }
  const given: GivenValues = { ...fromUser };
  const set = (key: keyof GivenValues, value: unknown, origin: string) => {
    if (value !== undefined && given[key] === undefined) given[key] = { value, origin };
  };
  set('ecrUri', /\.dkr[.-]ecr/.test(image) ? image : undefined, '--image');
  set('modelDir', values.modelDir, '--model-dir');
  set('baseImage', values.source === undefined ? values.base : undefined, '--base');
  set('images', values.source === undefined ? undefined : [values.source], '--source');
  set('platform', values.platforms[0], '--platform');
  set('builder', 'preflight', 'preflight run');
  set('timeout', values.timeout, '--timeout');
  set('scope', values.scope, '--scope');
  set('serviceAccount', values.serviceAccount, '--service-account');
  set('secretName', values.secretName, '--secret-name');
  return given;
}
