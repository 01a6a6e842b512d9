import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ContainerCommand, imageCommands } from '../../checks/image-commands.ts';
import check from '../../checks/pipeline-manifests.ts';
import { type CheckContext, type CheckResult, skip } from '../../src/plugin.ts';
import { fakeContext } from '../support/context.ts';

const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v2';
const DIGEST = `sha256:${'c0ffee00'.repeat(8)}`;

// ---- fixtures: real manifests as pipelines write them ----

function kanikoTask(
  options: { runPolicy?: string; templatePolicy?: string; kanikoFlags?: readonly string[] } = {},
): string {
  const flags = (options.kanikoFlags ?? ['--destination=$(params.IMAGE)'])
    .map((flag) => `        - ${flag}`)
    .join('\n');
  return `apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: build-and-run
spec:
  params:
    - name: IMAGE
      type: string
  ${options.templatePolicy === undefined ? '' : `stepTemplate:\n    imagePullPolicy: ${options.templatePolicy}\n  `}steps:
    - name: build
      image: gcr.io/kaniko-project/executor:v1.23.2
      args:
        - --dockerfile=$(workspaces.source.path)/Containerfile
        - --context=$(workspaces.source.path)
${flags}
    - name: run
      image: $(params.IMAGE)
${options.runPolicy === undefined ? '' : `      imagePullPolicy: ${options.runPolicy}\n`}      script: |
        #!/bin/sh
        python -m train --epochs 1
`;
}

const BUILDAH_PIPELINE = `apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: build-then-test
spec:
  params:
    - name: IMAGE
  tasks:
    - name: build
      taskSpec:
        steps:
          - name: bud
            image: quay.io/buildah/stable:v1.38
            script: |
              buildah bud --platform linux/amd64 -t $(params.IMAGE) . && \\
                buildah push --tls-verify=false --digestfile /tekton/results/digest "$(params.IMAGE)" docker://$(params.IMAGE) > /dev/null 2>&1
    - name: test
      runAfter: [build]
      taskSpec:
        sidecars:
          - name: db
            image: postgres:16
        steps:
          - name: pytest
            image: $(params.IMAGE)
            command: [pytest, -q]
`;

const PODMAN_PIPELINE_RUN = `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: nightly
spec:
  pipelineSpec:
    tasks:
      - name: publish
        taskSpec:
          steps:
            - name: publish
              image: quay.io/podman/stable
              command: [/bin/bash, -ec]
              args:
                - |
                  podman build -t registry.example.com/team/app:nightly .
                  podman push registry.example.com/team/app:nightly
    finally:
      - name: smoke
        taskSpec:
          steps:
            - name: smoke
              image: registry.example.com/team/app:nightly
              imagePullPolicy: IfNotPresent
              command: [/app/smoke]
`;

const SKOPEO_TASK_RUN = `apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: mirror
spec:
  taskSpec:
    steps:
      - name: copy
        image: quay.io/skopeo/stable:v1.17
        command: [skopeo]
        args: [copy, --dest-authfile, /auth/config.json, docker://quay.io/team/app:v2, docker://${ECR_IMAGE}]
`;

function evaluateJob(image: string, pullPolicy?: string): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: evaluate
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: fetch
          image: busybox:1.36
      containers:
        - name: eval
          image: ${image}
${pullPolicy === undefined ? '' : `          imagePullPolicy: ${pullPolicy}\n`}`;
}

const PREFLIGHT_POD = `apiVersion: v1
kind: Pod
metadata:
  name: publish-model
spec:
  containers:
    - name: push
      image: quay.io/preflight/preflight:0.1
      args: [push, oci-archive:/work/model.tar, docker://${ECR_IMAGE}]
      command: [preflight]
`;

const SERVE_CRONJOB = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-eval
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: eval
              image: ${ECR_IMAGE}
`;

function kfpPipeline(options: { platform?: string; securityContext?: string } = {}): string {
  const securityContext =
    options.securityContext === undefined ? '' : `        securityContext:\n${options.securityContext}`;
  return `# PIPELINE DEFINITION
# Name: train-and-serve
components:
  comp-package:
    executorLabel: exec-package
  comp-serve:
    executorLabel: exec-serve
deploymentSpec:
  executors:
    exec-package:
      container:
        image: quay.io/preflight/preflight:0.1
        command: [preflight]
        args: [modelcar, build, --model-dir, /models/llm, --image, "{{$.inputs.parameters['modelcar_image']}}"]
    exec-serve:
      container:
        image: "{{$.inputs.parameters['modelcar_image']}}"
        command: [sh, -c]
        args: ["python -m serve --smoke"]
${securityContext}pipelineInfo:
  name: train-and-serve
root:
  dag:
    tasks: {}
schemaVersion: 2.1.0
sdkVersion: kfp-2.13.0
${options.platform === undefined ? '' : `---\nplatforms:\n  kubernetes:\n    deploymentSpec:\n      executors:\n${options.platform}`}`;
}

const KFP_SERVE_ALWAYS = '        exec-serve:\n          imagePullPolicy: Always\n';
const KFP_SECURITY_IN_PLATFORM =
  '        exec-serve:\n          imagePullPolicy: Always\n          securityContext:\n            runAsUser: 1000\n';
const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n';

// ---- harness ----

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'preflight-manifests-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(files: Readonly<Record<string, string>>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

/** What the runner does before `run`: honour appliesTo. */
async function evaluate(ctx: CheckContext): Promise<CheckResult> {
  const applies = check.appliesTo?.(ctx) ?? true;
  if (applies !== true) return skip(applies === false ? 'does not apply here' : applies);
  return check.run(ctx);
}

async function inspect(manifests: readonly string[]): Promise<CheckResult> {
  return evaluate(fakeContext({ options: { manifests: manifests.map((m) => join(dir, m)), platform: 'linux/amd64' } }));
}

/** `<dir>` in expectations stands for the temp dir of the test. */
function at(text: string): string {
  return text.replaceAll('<dir>', dir);
}

interface Case {
  readonly name: string;
  readonly files: Readonly<Record<string, string>>;
  /** Paths under the temp dir; all top-level files when absent. */
  readonly manifests?: readonly string[];
  readonly status: 'pass' | 'warn' | 'fail';
  readonly message: string;
  /** Each expected detail line, in order; `[]` means none. */
  readonly details: readonly string[];
  readonly remediation?: readonly string[];
}

const KANIKO_WARN = 'Task/build-and-run step "run" (<dir>/task.yaml#spec.steps[1]) runs $(params.IMAGE) by tag with';
const KANIKO_PUSHER =
  'and Task/build-and-run step "build" (<dir>/task.yaml#spec.steps[0]) pushes that tag: a node that pulled it before runs its stale cached image';
const KANIKO_NOTE =
  'note: Task/build-and-run step "build" (<dir>/task.yaml#spec.steps[0]) builds with kaniko without --custom-platform: the image is built for the node\'s architecture, which may not be linux/amd64; add --custom-platform=linux/amd64';

const cases: Case[] = [
  {
    name: 'Tekton kaniko task runs the image it just pushed, by tag, with the default pull policy',
    files: { 'task.yaml': kanikoTask() },
    status: 'warn',
    message: `${KANIKO_WARN} no imagePullPolicy (IfNotPresent for a tag), ${KANIKO_PUSHER}`,
    details: [`warn: ${KANIKO_WARN} no imagePullPolicy (IfNotPresent for a tag), ${KANIKO_PUSHER}`, KANIKO_NOTE],
    remediation: [
      'Make the kubelet pull it on every run, on Task/build-and-run step "run" (<dir>/task.yaml#spec.steps[1]):\nimagePullPolicy: Always\n',
      'or run it by digest',
    ],
  },
  {
    name: 'kaniko -d with an explicit IfNotPresent on the consumer',
    files: {
      'task.yaml': kanikoTask({
        runPolicy: 'IfNotPresent',
        kanikoFlags: ['-d', '$(params.IMAGE)', '--custom-platform=linux/amd64'],
      }),
    },
    status: 'warn',
    message: `${KANIKO_WARN} imagePullPolicy: IfNotPresent, ${KANIKO_PUSHER}`,
    details: [`warn: ${KANIKO_WARN} imagePullPolicy: IfNotPresent, ${KANIKO_PUSHER}`],
  },
  {
    name: 'the consumer step pulls Always: only the platform note is left',
    files: { 'task.yaml': kanikoTask({ runPolicy: 'Always' }) },
    status: 'pass',
    message:
      '2 containers in 1 file: no pushed image run from a stale node cache, no securityContext in KFP components',
    details: [KANIKO_NOTE],
  },
  {
    name: 'stepTemplate sets Always for every step',
    files: {
      'task.yaml': kanikoTask({
        templatePolicy: 'Always',
        kanikoFlags: ['--destination', '$(params.IMAGE)', '--custom-platform=linux/arm64'],
      }),
    },
    status: 'pass',
    message: '2 containers in 1 file',
    details: [],
  },
  {
    name: 'a step that overrides the stepTemplate policy is still served stale',
    files: {
      'task.yaml': kanikoTask({
        templatePolicy: 'Always',
        runPolicy: 'IfNotPresent',
        kanikoFlags: ['--destination=$(params.IMAGE)', '--custom-platform=linux/amd64'],
      }),
    },
    status: 'warn',
    message: `${KANIKO_WARN} imagePullPolicy: IfNotPresent`,
    details: [`warn: ${KANIKO_WARN} imagePullPolicy: IfNotPresent, ${KANIKO_PUSHER}`],
  },
  {
    name: 'kaniko --no-push pushes nothing',
    files: {
      'task.yaml': kanikoTask({
        kanikoFlags: ['--destination=$(params.IMAGE)', '--no-push', '--custom-platform=linux/amd64'],
      }),
    },
    status: 'pass',
    message: '2 containers in 1 file',
    details: [],
  },
  {
    name: 'Tekton Pipeline with inline taskSpecs: buildah pushes, the next task runs it',
    files: { 'pipeline.yaml': BUILDAH_PIPELINE },
    status: 'warn',
    message:
      'Pipeline/build-then-test task "test" step "pytest" (<dir>/pipeline.yaml#spec.tasks[1].taskSpec.steps[0]) runs $(params.IMAGE) by tag with no imagePullPolicy (IfNotPresent for a tag), and Pipeline/build-then-test task "build" step "bud" (<dir>/pipeline.yaml#spec.tasks[0].taskSpec.steps[0]) pushes that tag',
    details: [
      'warn: Pipeline/build-then-test task "test" step "pytest" (<dir>/pipeline.yaml#spec.tasks[1].taskSpec.steps[0])',
    ],
  },
  {
    name: 'PipelineRun: a podman push in bash -ec, run by a finally task with IfNotPresent',
    files: { 'run.yaml': PODMAN_PIPELINE_RUN },
    status: 'warn',
    message:
      'PipelineRun/nightly task "smoke" step "smoke" (<dir>/run.yaml#spec.pipelineSpec.finally[0].taskSpec.steps[0]) runs registry.example.com/team/app:nightly by tag with imagePullPolicy: IfNotPresent, and PipelineRun/nightly task "publish" step "publish" (<dir>/run.yaml#spec.pipelineSpec.tasks[0].taskSpec.steps[0]) pushes that tag',
    details: [
      'warn: PipelineRun/nightly task "smoke" step "smoke"',
      'note: PipelineRun/nightly task "publish" step "publish" (<dir>/run.yaml#spec.pipelineSpec.tasks[0].taskSpec.steps[0]) builds with podman without --platform',
    ],
  },
  {
    name: 'a Job runs by tag what a TaskRun mirrors with skopeo, across files',
    files: { 'mirror.yaml': SKOPEO_TASK_RUN, 'job.yaml': evaluateJob(ECR_IMAGE) },
    status: 'warn',
    message: `Job/evaluate container "eval" (<dir>/job.yaml#spec.template.spec.containers[0]) runs ${ECR_IMAGE} by tag with no imagePullPolicy (IfNotPresent for a tag), and TaskRun/mirror step "copy" (<dir>/mirror.yaml#spec.taskSpec.steps[0]) pushes that tag`,
    details: ['warn: Job/evaluate container "eval"'],
    remediation: [
      'on Job/evaluate container "eval" (<dir>/job.yaml#spec.template.spec.containers[0]):\nimagePullPolicy: Always',
    ],
  },
  {
    name: 'the Job pulls Always',
    files: { 'mirror.yaml': SKOPEO_TASK_RUN, 'job.yaml': evaluateJob(ECR_IMAGE, 'Always') },
    status: 'pass',
    message: '3 containers in 2 files',
    details: [],
  },
  {
    name: 'the Job runs it by digest',
    files: { 'mirror.yaml': SKOPEO_TASK_RUN, 'job.yaml': evaluateJob(`${ECR_IMAGE}@${DIGEST}`) },
    status: 'pass',
    message: '3 containers in 2 files',
    details: [],
  },
  {
    name: ':latest without a policy: Kubernetes defaults to Always',
    files: {
      'mirror.yaml': SKOPEO_TASK_RUN.replace(':v2, docker://', ':v2, docker://').replace(
        `docker://${ECR_IMAGE}`,
        'docker://quay.io/team/app:latest',
      ),
      'job.yaml': evaluateJob('quay.io/team/app:latest'),
    },
    status: 'pass',
    message: '3 containers in 2 files',
    details: [],
  },
  {
    name: ':latest with IfNotPresent is served stale',
    files: {
      'mirror.yaml': SKOPEO_TASK_RUN.replace(`docker://${ECR_IMAGE}`, 'docker://quay.io/team/app:latest'),
      'job.yaml': evaluateJob('quay.io/team/app:latest', 'IfNotPresent'),
    },
    status: 'warn',
    message: 'runs quay.io/team/app:latest by tag with imagePullPolicy: IfNotPresent',
    details: ['warn: Job/evaluate container "eval"'],
  },
  {
    name: 'a CronJob runs what a Pod pushes with preflight push',
    files: { 'pod.yaml': PREFLIGHT_POD, 'cron.yaml': SERVE_CRONJOB },
    status: 'warn',
    message: `CronJob/nightly-eval container "eval" (<dir>/cron.yaml#spec.jobTemplate.spec.template.spec.containers[0]) runs ${ECR_IMAGE} by tag with no imagePullPolicy (IfNotPresent for a tag), and Pod/publish-model container "push" (<dir>/pod.yaml#spec.containers[0]) pushes that tag`,
    details: ['warn: CronJob/nightly-eval container "eval"'],
  },
  {
    name: 'KFP IR: one executor runs the modelcar another builds with preflight',
    files: { 'pipeline.yaml': kfpPipeline() },
    status: 'warn',
    message:
      'KFP pipeline train-and-serve executor "exec-serve" (<dir>/pipeline.yaml#deploymentSpec.executors.exec-serve.container) runs {{$.inputs.parameters[\'modelcar_image\']}} by tag with no imagePullPolicy (IfNotPresent for a tag), and KFP pipeline train-and-serve executor "exec-package" (<dir>/pipeline.yaml#deploymentSpec.executors.exec-package.container) pushes that tag',
    details: ['warn: KFP pipeline train-and-serve executor "exec-serve"'],
    remediation: [
      "with kfp-kubernetes on that task:\nfrom kfp import kubernetes\nkubernetes.set_image_pull_policy(task, 'Always')",
    ],
  },
  {
    name: 'KFP IR: kfp-kubernetes set the pull policy to Always in the platform document',
    files: { 'pipeline.yaml': kfpPipeline({ platform: KFP_SERVE_ALWAYS }) },
    status: 'pass',
    message: '2 containers in 1 file',
    details: [],
  },
  {
    name: 'KFP IR: securityContext in the platform document is what kfp-kubernetes writes, not a problem',
    files: { 'pipeline.yaml': kfpPipeline({ platform: KFP_SECURITY_IN_PLATFORM }) },
    status: 'pass',
    message: '2 containers in 1 file',
    details: [],
  },
  {
    name: 'KFP IR: securityContext in an executor container',
    files: {
      'pipeline.yaml': kfpPipeline({
        platform: KFP_SERVE_ALWAYS,
        securityContext: '          runAsUser: 1000\n          runAsGroup: 0\n',
      }),
    },
    status: 'fail',
    message:
      'KFP pipeline train-and-serve executor "exec-serve" (<dir>/pipeline.yaml#deploymentSpec.executors.exec-serve.container) sets securityContext, a field KFP v2 pipeline IR does not have: the upload fails with unknown field "securityContext"',
    details: ['fail: KFP pipeline train-and-serve executor "exec-serve"'],
    remediation: [
      'Remove securityContext from the component; on OpenShift the restricted SCC already gives the pod a uid and an fsGroup from the namespace range.',
      'from kfp import kubernetes\nkubernetes.set_security_context(task, run_as_user=1000, run_as_group=0)',
      'kubernetes.empty_dir_mount(task, volume_name="scratch", mount_path="/scratch")',
    ],
  },
  {
    name: 'KFP IR: securityContext without ids still fails, and says how ids would be set',
    files: {
      'pipeline.yaml': kfpPipeline({
        platform: KFP_SERVE_ALWAYS,
        securityContext: '          allowPrivilegeEscalation: false\n',
      }),
    },
    status: 'fail',
    message: 'sets securityContext, a field KFP v2 pipeline IR does not have',
    details: ['fail: KFP pipeline train-and-serve executor "exec-serve"'],
    remediation: [
      'To pin runAsUser/runAsGroup, use kfp-kubernetes on the task: kubernetes.set_security_context(task, run_as_user=…, run_as_group=…).',
    ],
  },
  {
    name: 'the worst finding wins: a fail and a warn in one multi-document file',
    files: {
      'all.yaml': `${kfpPipeline({ platform: KFP_SERVE_ALWAYS, securityContext: '          runAsUser: 1000\n' })}\n---\n${kanikoTask()}`,
    },
    status: 'fail',
    message: 'sets securityContext',
    details: [
      'fail: KFP pipeline train-and-serve executor "exec-serve"',
      'warn: Task/build-and-run step "run" (<dir>/all.yaml#spec.steps[1])',
      'note: Task/build-and-run step "build"',
    ],
  },
  {
    name: 'a mis-indented key',
    files: {
      'broken.yaml':
        'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: busybox\n     command: [sh]\n',
    },
    status: 'fail',
    message: '<dir>/broken.yaml:7: YAML does not parse: Sequence item without - indicator',
    details: ['fail: <dir>/broken.yaml:7: YAML does not parse: Sequence item without - indicator'],
    remediation: [
      'Fix line 7 of <dir>/broken.yaml, then check it again:\npreflight check --only pipeline-manifests --manifests <dir>/broken.yaml',
    ],
  },
  {
    name: 'a tab as indentation',
    files: { 'tabs.yaml': 'apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n' },
    status: 'fail',
    message: '<dir>/tabs.yaml:4: YAML does not parse: Tabs are not allowed as indentation',
    details: ['fail: <dir>/tabs.yaml:4: YAML does not parse: Tabs are not allowed as indentation'],
  },
  {
    name: 'duplicate keys: the YAML parser names the line',
    files: { 'dup.yml': 'kind: Pod\nkind: Job\n' },
    status: 'fail',
    message: '<dir>/dup.yml:2: YAML does not parse: Map keys must be unique',
    details: ['fail: <dir>/dup.yml:2: YAML does not parse: Map keys must be unique'],
  },
  {
    name: 'a missing path is a fail, and the other files are still inspected',
    files: { 'task.yaml': kanikoTask() },
    manifests: ['nope.yaml', 'task.yaml'],
    status: 'fail',
    message: '<dir>/nope.yaml does not exist (and 1 more finding, see details)',
    details: ['fail: <dir>/nope.yaml does not exist', `warn: ${KANIKO_WARN}`, KANIKO_NOTE],
    remediation: [
      'Pass an existing file or folder to --manifests:\npreflight check --only pipeline-manifests --manifests <file-or-folder>',
    ],
  },
];

describe('pipeline-manifests', () => {
  it.each(cases)('$status: $name', async ({ files, manifests, status, message, details, remediation }) => {
    await write(files);
    const result = await inspect(manifests ?? Object.keys(files));
    if (result.status === 'skip') throw new Error(`unexpected skip: ${result.reason}`);
    expect(result.status).toBe(status);
    expect(result.message).toContain(at(message));
    const lines = result.details ?? [];
    expect(lines).toHaveLength(details.length);
    details.forEach((detail, index) => expect(lines[index]).toContain(at(detail)));
    if (result.status !== 'pass') {
      for (const part of remediation ?? []) expect(result.remediation).toContain(at(part));
      // Every finding that is not a note names a file and a YAML path (or the file:line of a syntax error).
      for (const line of lines.filter((l) => !l.startsWith('note:'))) expect(line).toContain(dir);
    }
  });

  it.each([{ name: 'no --manifests', manifests: [], reason: 'no --manifests given' }])(
    'skip: $name',
    async ({ manifests, reason }) => {
      expect(await evaluate(fakeContext({ options: { manifests } }))).toEqual({ status: 'skip', reason });
      expect(await check.run(fakeContext({ options: { manifests } }))).toEqual({ status: 'skip', reason });
    },
  );

  it.each([
    {
      name: 'only a ConfigMap',
      files: { 'cm.yaml': CONFIG_MAP },
      reason: 'no Tekton, KFP or Kubernetes workload containers in 1 manifest file',
    },
    {
      name: 'an empty file and a JSON Service',
      files: { 'empty.yaml': '', 'svc.json': '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}' },
      reason: 'no Tekton, KFP or Kubernetes workload containers in 2 manifest files',
    },
  ])('skip: $name', async ({ files, reason }) => {
    await write(files);
    const result = await inspect(Object.keys(files));
    expect(result).toEqual({ status: 'skip', reason });
  });

  it('walks folders for .yaml, .yml and .json, skipping other files and dot folders', async () => {
    const job = JSON.stringify({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'eval' },
      spec: { template: { spec: { containers: [{ name: 'eval', image: ECR_IMAGE }] } } },
    });
    await write({
      'tekton/push.yml': kanikoTask({
        kanikoFlags: [`--destination=${ECR_IMAGE}`, '--custom-platform=linux/amd64'],
      }).replace('image: $(params.IMAGE)', 'image: busybox:1.36'),
      'k8s/nested/job.json': job,
      // Each of these would add a finding if it were read.
      'notes.txt': evaluateJob(ECR_IMAGE),
      '.cache/job.yaml': evaluateJob(ECR_IMAGE),
    });
    const result = await inspect(['.']);
    if (result.status !== 'warn') throw new Error(`expected warn, got ${JSON.stringify(result)}`);
    expect(result.details).toEqual([
      expect.stringContaining(
        `warn: Job/eval container "eval" (${join(dir, 'k8s/nested/job.json')}#spec.template.spec.containers[0])`,
      ),
    ]);
    expect(result.message).toContain(
      `Task/build-and-run step "build" (${join(dir, 'tekton/push.yml')}#spec.steps[0]) pushes that tag`,
    );
  });

  it('reads a ConfigMap-mounted folder once: the symlinked files, not ..data', async () => {
    await write({ '..2026_11_23/job.yaml': evaluateJob(ECR_IMAGE), '..2026_11_23/mirror.yaml': SKOPEO_TASK_RUN });
    await symlink('..2026_11_23', join(dir, '..data'));
    await symlink('..data/job.yaml', join(dir, 'job.yaml'));
    await symlink('..data/mirror.yaml', join(dir, 'mirror.yaml'));
    const result = await inspect(['.']);
    if (result.status !== 'warn') throw new Error(`expected warn, got ${JSON.stringify(result)}`);
    expect(result.details).toEqual([
      expect.stringContaining(`warn: Job/evaluate container "eval" (${join(dir, 'job.yaml')}#`),
    ]);
  });

  it('declares what it inspects, for --list', () => {
    expect(check).toMatchObject({ id: 'pipeline-manifests', scope: 'any' });
    expect(check.inspects).toContain('--manifests');
  });
});

describe('imageCommands: what a step pushes and builds', () => {
  const X = '$(params.IMAGE)';
  const KFP = "{{$.inputs.parameters['image']}}";
  it.each<{ name: string; container: ContainerCommand; pushes: readonly string[]; builds?: readonly string[] }>([
    {
      name: 'kaniko image, args only',
      container: { image: 'gcr.io/kaniko-project/executor:v1.23.2', command: [], args: [`--destination=${X}`] },
      pushes: [X],
      builds: ['kaniko'],
    },
    {
      name: 'kaniko -d and --custom-platform',
      container: {
        image: 'gcr.io/kaniko-project/executor',
        command: [],
        args: ['-d', X, '--custom-platform=linux/amd64'],
      },
      pushes: [X],
      builds: ['kaniko+platform'],
    },
    {
      name: 'kaniko --no-push',
      container: { image: 'gcr.io/kaniko-project/executor', command: [], args: [`--destination=${X}`, '--no-push'] },
      pushes: [],
      builds: ['kaniko'],
    },
    {
      name: '/kaniko/executor in a script, twice --destination',
      container: {
        command: [],
        args: [],
        script: `/kaniko/executor --context . --destination ${X} --destination=repo/app:latest`,
      },
      pushes: [X, 'repo/app:latest'],
      builds: ['kaniko'],
    },
    {
      name: 'buildah push SRC docker://DEST',
      container: { command: ['buildah'], args: ['push', '--authfile', '/auth.json', 'local', `docker://${ECR_IMAGE}`] },
      pushes: [ECR_IMAGE],
    },
    {
      name: 'buildah push with one argument',
      container: { command: ['buildah', 'push', ECR_IMAGE], args: [] },
      pushes: [ECR_IMAGE],
    },
    {
      name: 'buildah global flags before the verb',
      container: { command: [], args: [], script: `buildah --storage-driver vfs push --tls-verify=false ${X}` },
      pushes: [X],
    },
    {
      name: 'buildah push to an archive is not a registry push',
      container: { command: [], args: [], script: 'buildah push app oci-archive:/tmp/app.tar' },
      pushes: [],
    },
    {
      name: 'podman image push',
      container: { command: ['podman', 'image', 'push', 'quay.io/a/b:1'], args: [] },
      pushes: ['quay.io/a/b:1'],
    },
    {
      name: 'skopeo copy to a registry',
      container: { command: ['skopeo', 'copy', '--multi-arch', 'all', 'oci:/work/app', `docker://${X}`], args: [] },
      pushes: [X],
    },
    {
      name: 'skopeo copy from a registry to disk',
      container: { command: ['skopeo', 'copy', `docker://${X}`, 'oci:/work/app'], args: [] },
      pushes: [],
    },
    {
      name: 'preflight push with flags',
      container: {
        command: ['preflight'],
        args: ['push', '--digest-file', '/tekton/results/digest', 'oci-archive:/m.tar', `docker://${ECR_IMAGE}`],
      },
      pushes: [ECR_IMAGE],
    },
    {
      name: 'preflight modelcar build --image=',
      container: { command: ['preflight', 'modelcar', 'build', '--model-dir', '/m', `--image=${KFP}`], args: [] },
      pushes: [KFP],
    },
    {
      name: 'docker buildx build --push -t',
      container: { command: [], args: [], script: `docker buildx build --platform linux/amd64 --push -t ${X} .` },
      pushes: [X],
      builds: ['docker+platform'],
    },
    {
      name: 'docker build without a platform',
      container: { command: ['docker', 'build', '-t', 'app', '.'], args: [] },
      pushes: [],
      builds: ['docker'],
    },
    {
      name: 'buildah bud --arch is a platform hint',
      container: { command: ['buildah', 'bud', '--arch', 'arm64', '-t', 'x', '.'], args: [] },
      pushes: [],
      builds: ['buildah+platform'],
    },
    {
      name: 'docker run -d is not kaniko',
      container: { command: ['docker', 'run', '-d', 'nginx'], args: [] },
      pushes: [],
    },
    {
      name: 'sh -c holding bash -c',
      container: { command: ['sh', '-c', `bash -c 'buildah push ${ECR_IMAGE}'`], args: [] },
      pushes: [ECR_IMAGE],
    },
    {
      name: 'env assignments and exec',
      container: { command: [], args: [], script: `REGISTRY_AUTH_FILE=/a/auth.json exec buildah push ${X}` },
      pushes: [X],
    },
    {
      name: 'a commented-out push',
      container: { command: [], args: [], script: `# buildah push ${X}\necho skip` },
      pushes: [],
    },
    {
      name: 'redirections are not arguments',
      container: { command: [], args: [], script: 'podman push a quay.io/a/b:2 2>&1 > /tmp/push.log' },
      pushes: ['quay.io/a/b:2'],
    },
    {
      name: 'a quoted Tekton expression',
      container: { command: [], args: [], script: `buildah push "${X}"` },
      pushes: [X],
    },
    {
      name: 'a single-quoted KFP placeholder keeps its quotes',
      container: { command: [], args: [], script: `podman push '${KFP}'` },
      pushes: [KFP],
    },
    {
      name: 'line continuation',
      container: { command: [], args: [], script: `podman push \\\n  --tls-verify=false \\\n  ${X}` },
      pushes: [X],
    },
    {
      name: 'a KFP-style sh -ec with trailing args',
      container: { command: ['sh', '-ec', `podman push ${KFP}`, 'sh', '--flag'], args: [] },
      pushes: [KFP],
    },
  ])('$name', ({ container, pushes, builds }) => {
    const result = imageCommands(container);
    expect(result.pushes).toEqual(pushes);
    expect(result.builds.map((b) => `${b.tool}${b.platformHint ? '+platform' : ''}`)).toEqual(builds ?? []);
  });
});
