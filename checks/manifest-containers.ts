import type { ContainerCommand } from './image-commands.ts';

/** One container a manifest runs, wherever it is declared. */
export interface ContainerSite extends ContainerCommand {
  readonly file: string;
  /** YAML path inside its document: `spec.steps[1]`, `deploymentSpec.executors.exec-train.container`. */
  readonly path: string;
  /** Who runs it, for messages: `Task/build-and-run step "build"`. */
  readonly label: string;
  readonly platform: 'tekton' | 'kfp' | 'kubernetes';
  readonly imagePullPolicy?: string;
  /** KFP IR only: a `securityContext` in the executor container, a field the IR does not have. */
  readonly securityContext?: Readonly<Record<string, unknown>>;
}

type Json = Readonly<Record<string, unknown>>;

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']);

/**
 * The containers of every Tekton, KFP IR and Kubernetes workload document of one file. Other
 * documents (ConfigMaps, Services, CRDs we do not know) contribute nothing.
 */
export function containerSites(file: string, documents: readonly unknown[]): ContainerSite[] {
  // `kfp-kubernetes` settings (imagePullPolicy, …) live in a second document of the compiled IR.
  const kfpPlatform = documents.map((doc) => dig(doc, 'platforms', 'kubernetes', 'deploymentSpec', 'executors'));
  return documents.flatMap((doc) => sitesOf(file, object(doc), '', kfpPlatform));
}

function sitesOf(file: string, doc: Json, prefix: string, kfpPlatform: readonly Json[]): ContainerSite[] {
  const kind = text(doc.kind);
  const spec = object(doc.spec);
  const owner = `${kind ?? ''}/${text(object(doc.metadata).name) ?? '?'}`;
  const site: Where = { file, platform: 'kubernetes' };
  if (text(doc.apiVersion)?.startsWith('tekton.dev/') === true) {
    const tekton: Where = { file, platform: 'tekton' };
    if (kind === 'Task' || kind === 'ClusterTask') return taskSpec(tekton, spec, `${prefix}spec.`, owner);
    if (kind === 'TaskRun') return taskSpec(tekton, object(spec.taskSpec), `${prefix}spec.taskSpec.`, owner);
    if (kind === 'Pipeline') return pipelineSpec(tekton, spec, `${prefix}spec.`, owner);
    if (kind === 'PipelineRun')
      return pipelineSpec(tekton, object(spec.pipelineSpec), `${prefix}spec.pipelineSpec.`, owner);
    return [];
  }
  if ('pipelineInfo' in doc && 'deploymentSpec' in doc) return kfpExecutors(file, doc, kfpPlatform);
  if (kind === 'Pod') return podSpec(site, spec, `${prefix}spec.`, owner);
  if (kind !== undefined && WORKLOADS.has(kind))
    return podSpec(site, object(object(spec.template).spec), `${prefix}spec.template.spec.`, owner);
  if (kind === 'CronJob') {
    return podSpec(
      site,
      dig(spec, 'jobTemplate', 'spec', 'template', 'spec'),
      `${prefix}spec.jobTemplate.spec.template.spec.`,
      owner,
    );
  }
  if (kind === 'List')
    return list(doc.items).flatMap((item, index) =>
      sitesOf(file, object(item), `${prefix}items[${index}].`, kfpPlatform),
    );
  return [];
}

interface Where {
  readonly file: string;
  readonly platform: ContainerSite['platform'];
}

function pipelineSpec(where: Where, spec: Json, prefix: string, owner: string): ContainerSite[] {
  return ['tasks', 'finally'].flatMap((key) =>
    list(spec[key]).flatMap((task, index) => {
      const name = text(object(task).name) ?? String(index);
      return taskSpec(
        where,
        object(object(task).taskSpec),
        `${prefix}${key}[${index}].taskSpec.`,
        `${owner} task "${name}"`,
      );
    }),
  );
}

/** Tekton merges `stepTemplate` into every step: a step's own fields win. */
function taskSpec(where: Where, spec: Json, prefix: string, owner: string): ContainerSite[] {
  const template = object(spec.stepTemplate);
  const steps = list(spec.steps).map((step, index) =>
    container(where, { ...template, ...object(step) }, `${prefix}steps[${index}]`, `${owner} step`, index),
  );
  const sidecars = list(spec.sidecars).map((sidecar, index) =>
    container(where, object(sidecar), `${prefix}sidecars[${index}]`, `${owner} sidecar`, index),
  );
  return [...steps, ...sidecars];
}

function podSpec(where: Where, spec: Json, prefix: string, owner: string): ContainerSite[] {
  return ['initContainers', 'containers'].flatMap((key) =>
    list(spec[key]).map((item, index) =>
      container(
        where,
        object(item),
        `${prefix}${key}[${index}]`,
        `${owner} ${key === 'containers' ? 'container' : 'init container'}`,
        index,
      ),
    ),
  );
}

function kfpExecutors(file: string, doc: Json, platform: readonly Json[]): ContainerSite[] {
  const pipeline = text(object(doc.pipelineInfo).name) ?? '?';
  return Object.entries(dig(doc, 'deploymentSpec', 'executors')).flatMap(([name, executor]) => {
    if (!('container' in object(executor))) return [];
    const spec = object(object(executor).container);
    const pullPolicy = platform
      .map((executors) => text(object(executors[name]).imagePullPolicy))
      .find((policy) => policy !== undefined);
    const base = container(
      { file, platform: 'kfp' },
      spec,
      `deploymentSpec.executors.${name}.container`,
      `KFP pipeline ${pipeline} executor`,
      name,
    );
    return [
      {
        ...base,
        ...(pullPolicy === undefined ? {} : { imagePullPolicy: pullPolicy }),
        ...('securityContext' in spec ? { securityContext: object(spec.securityContext) } : {}),
      },
    ];
  });
}

function container(where: Where, spec: Json, path: string, owner: string, key: number | string): ContainerSite {
  const name = text(spec.name) ?? String(key);
  const image = text(spec.image);
  const pullPolicy = text(spec.imagePullPolicy);
  const script = text(spec.script);
  return {
    ...where,
    path,
    label: `${owner} "${name}"`,
    command: words(spec.command),
    args: words(spec.args),
    ...(image === undefined ? {} : { image }),
    ...(pullPolicy === undefined ? {} : { imagePullPolicy: pullPolicy }),
    ...(script === undefined ? {} : { script }),
  };
}

function object(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : {};
}

/** The object at `keys` below `value`, or an empty one when anything on the way is not an object. */
function dig(value: unknown, ...keys: readonly string[]): Json {
  return keys.reduce<Json>((at, key) => object(at[key]), object(value));
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Command and args as the kubelet passes them: YAML numbers and booleans become strings. */
function words(value: unknown): string[] {
  return list(value).flatMap((word) =>
    typeof word === 'string' || typeof word === 'number' || typeof word === 'boolean' ? [String(word)] : [],
  );
}
