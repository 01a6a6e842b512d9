import { stringify } from 'yaml';
import { RESOURCES } from './discovery.ts';

/**
 * A small OpenAPI v2 document for the kinds the double stores, in the shape of the API server's
 * /openapi/v2 (https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v2): kubectl looks a
 * kind up by `x-kubernetes-group-version-kind` and rejects unknown fields, wrong primitive types and
 * missing required fields. Object kinds carry `properties` and no `type`, maps carry `type: object` with
 * `additionalProperties`, and `{}` is an arbitrary value: every kube-openapi parser since 1.11 reads
 * those the same way. kubectl 1.20 asks for it as protobuf (gnostic's openapi_v2.Document).
 */
type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int: Schema = { type: 'integer', format: 'int64' };
const any: Schema = {};
const strings: Schema = { type: 'array', items: str };
const map = (value: Schema): Schema => ({ type: 'object', additionalProperties: value });
const list = (items: Schema): Schema => ({ type: 'array', items });
const kind = (properties: Record<string, Schema>, required?: string[]): Schema => ({
  properties,
  ...(required === undefined ? {} : { required }),
});
const top = (group: string, version: string, name: string, properties: Record<string, Schema>): Schema => ({
  ...kind({
    apiVersion: str,
    kind: str,
    metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
    ...properties,
  }),
  'x-kubernetes-group-version-kind': [{ group, kind: name, version }],
});

const CONTAINER = kind(
  Object.fromEntries(
    [
      ...['name', 'image', 'imagePullPolicy', 'workingDir', 'terminationMessagePath', 'terminationMessagePolicy'].map(
        (k) => [k, str] as const,
      ),
      ...['command', 'args'].map((k) => [k, strings] as const),
      ...['env', 'envFrom', 'ports', 'volumeMounts', 'volumeDevices'].map((k) => [k, list(any)] as const),
      ...['resources', 'securityContext', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'].map(
        (k) => [k, any] as const,
      ),
      ...['stdin', 'stdinOnce', 'tty'].map((k) => [k, bool] as const),
    ].map(([k, v]) => [k, v]),
  ),
  ['name'],
);

const POD_SPEC = kind({
  containers: list(ref('io.k8s.api.core.v1.Container')),
  initContainers: list(ref('io.k8s.api.core.v1.Container')),
  ...Object.fromEntries(
    [
      'serviceAccountName',
      'serviceAccount',
      'restartPolicy',
      'dnsPolicy',
      'schedulerName',
      'priorityClassName',
      'nodeName',
    ].map((k) => [k, str]),
  ),
  ...Object.fromEntries(['volumes', 'tolerations', 'imagePullSecrets', 'hostAliases'].map((k) => [k, list(any)])),
  ...Object.fromEntries(['securityContext', 'affinity', 'dnsConfig'].map((k) => [k, any])),
  ...Object.fromEntries(['hostNetwork', 'hostPID', 'hostIPC', 'automountServiceAccountToken'].map((k) => [k, bool])),
  ...Object.fromEntries(['terminationGracePeriodSeconds', 'activeDeadlineSeconds'].map((k) => [k, int])),
  nodeSelector: map(str),
});

export const DEFINITIONS: Record<string, Schema> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': kind({
    ...Object.fromEntries(
      [
        'name',
        'generateName',
        'namespace',
        'resourceVersion',
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'selfLink',
      ].map((k) => [k, str]),
    ),
    labels: map(str),
    annotations: map(str),
    finalizers: strings,
    ownerReferences: list(any),
    managedFields: list(any),
    generation: int,
    deletionGracePeriodSeconds: int,
  }),
  'io.k8s.api.core.v1.Container': CONTAINER,
  'io.k8s.api.core.v1.PodSpec': POD_SPEC,
  'io.k8s.api.core.v1.PodTemplateSpec': kind({
    metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
    spec: ref('io.k8s.api.core.v1.PodSpec'),
  }),
  'io.k8s.api.core.v1.Secret': top('', 'v1', 'Secret', {
    data: map({ type: 'string', format: 'byte' }),
    stringData: map(str),
    type: str,
    immutable: bool,
  }),
  'io.k8s.api.core.v1.ServiceAccount': top('', 'v1', 'ServiceAccount', {
    secrets: list(any),
    imagePullSecrets: list(any),
    automountServiceAccountToken: bool,
  }),
  'io.k8s.api.core.v1.Namespace': top('', 'v1', 'Namespace', { spec: any, status: any }),
  'io.k8s.api.batch.v1.JobSpec': kind(
    {
      template: ref('io.k8s.api.core.v1.PodTemplateSpec'),
      ...Object.fromEntries(
        ['backoffLimit', 'activeDeadlineSeconds', 'completions', 'parallelism', 'ttlSecondsAfterFinished'].map((k) => [
          k,
          int,
        ]),
      ),
      selector: any,
      manualSelector: bool,
    },
    ['template'],
  ),
  'io.k8s.api.batch.v1.JobTemplateSpec': kind({
    metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'),
    spec: ref('io.k8s.api.batch.v1.JobSpec'),
  }),
  'io.k8s.api.batch.v1.CronJobSpec': kind(
    {
      schedule: str,
      timeZone: str,
      concurrencyPolicy: str,
      suspend: bool,
      jobTemplate: ref('io.k8s.api.batch.v1.JobTemplateSpec'),
      ...Object.fromEntries(
        ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'].map((k) => [k, int]),
      ),
    },
    ['schedule', 'jobTemplate'],
  ),
  'io.k8s.api.batch.v1.CronJob': top('batch', 'v1', 'CronJob', {
    spec: ref('io.k8s.api.batch.v1.CronJobSpec'),
    status: any,
  }),
  'io.k8s.api.rbac.v1.PolicyRule': kind(
    Object.fromEntries(
      ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs'].map((k) => [k, strings]),
    ),
    ['verbs'],
  ),
  'io.k8s.api.rbac.v1.RoleRef': kind({ apiGroup: str, kind: str, name: str }, ['apiGroup', 'kind', 'name']),
  'io.k8s.api.rbac.v1.Subject': kind({ apiGroup: str, kind: str, name: str, namespace: str }, ['kind', 'name']),
  'io.k8s.api.rbac.v1.Role': top('rbac.authorization.k8s.io', 'v1', 'Role', {
    rules: list(ref('io.k8s.api.rbac.v1.PolicyRule')),
  }),
  'io.k8s.api.rbac.v1.RoleBinding': top('rbac.authorization.k8s.io', 'v1', 'RoleBinding', {
    roleRef: ref('io.k8s.api.rbac.v1.RoleRef'),
    subjects: list(ref('io.k8s.api.rbac.v1.Subject')),
  }),
};

/**
 * One PATCH operation per stored kind, with its dryRun query parameter: kubectl 1.20 decides whether a
 * kind supports --dry-run=server by finding that parameter (kubectl/pkg/cmd/util DryRunVerifier).
 */
function patchPaths(): { path: string; gvk: Record<string, string> }[] {
  return RESOURCES.filter((r) => r.virtual !== true).map((r) => ({
    path: `${r.group === '' ? '/api/v1' : `/apis/${r.group}/${r.version}`}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}/{name}`,
    gvk: { group: r.group, kind: r.kind, version: r.version },
  }));
}

export function openApiDocument(): Schema {
  const paths = Object.fromEntries(
    patchPaths().map(({ path, gvk }) => [
      path,
      {
        patch: {
          parameters: [{ name: 'dryRun', in: 'query', type: 'string', uniqueItems: true }],
          'x-kubernetes-action': 'patch',
          'x-kubernetes-group-version-kind': gvk,
        },
      },
    ]),
  );
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.28.0' }, paths, definitions: DEFINITIONS };
}

/** The same document as gnostic's openapi_v2.Document protobuf (field numbers from OpenAPIv2.proto). */
export function openApiProtobuf(): Buffer {
  const info = message([str_(1, 'Kubernetes'), str_(2, 'v1.28.0')]);
  const definitions = message(
    Object.entries(DEFINITIONS).map(([name, schema]) =>
      field(1, message([str_(1, name), field(2, encodeSchema(schema))])),
    ),
  );
  return message([str_(1, '2.0'), field(2, info), field(8, encodePaths()), field(9, definitions)]);
}

/** Paths{path=2: NamedPathItem{name, PathItem{patch=8: Operation{parameters=8, vendor_extension=13}}}}. */
function encodePaths(): Buffer {
  return message(
    patchPaths().map(({ path, gvk }) => {
      const dryRun = message([str_(2, 'query'), str_(4, 'dryRun'), str_(6, 'string')]);
      // ParametersItem{parameter=1: Parameter{non_body_parameter=2: NonBodyParameter{query_parameter_sub_schema=3}}}
      const parameter = field(1, field(2, field(3, dryRun)));
      const operation = message([
        field(8, parameter),
        field(13, message([str_(1, 'x-kubernetes-action'), field(2, message([str_(2, 'patch')]))])),
        field(13, message([str_(1, 'x-kubernetes-group-version-kind'), field(2, message([str_(2, stringify(gvk))]))])),
      ]);
      return field(2, message([str_(1, path), field(2, field(8, operation))]));
    }),
  );
}

function encodeSchema(schema: Schema): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') parts.push(str_(1, value));
    else if (key === 'format' && typeof value === 'string') parts.push(str_(2, value));
    else if (key === 'required' && Array.isArray(value)) parts.push(...value.map((v) => str_(19, String(v))));
    else if (key === 'additionalProperties' && isSchema(value))
      parts.push(field(21, message([field(1, encodeSchema(value))])));
    else if (key === 'type' && typeof value === 'string') parts.push(field(22, message([str_(1, value)])));
    else if (key === 'items' && isSchema(value)) parts.push(field(23, message([field(1, encodeSchema(value))])));
    else if (key === 'properties' && isSchema(value))
      parts.push(
        field(
          25,
          message(
            Object.entries(value).map(([name, sub]) =>
              field(1, message([str_(1, name), field(2, encodeSchema(isSchema(sub) ? sub : {}))])),
            ),
          ),
        ),
      );
    else if (key.startsWith('x-'))
      parts.push(field(31, message([str_(1, key), field(2, message([str_(2, stringify(value))]))])));
  }
  return message(parts);
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function message(parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

/** A length-delimited field (wire type 2). */
function field(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

function str_(number: number, value: string): Buffer {
  return field(number, Buffer.from(value, 'utf8'));
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
