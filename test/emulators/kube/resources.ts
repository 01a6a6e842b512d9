import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { allowed } from './authz.ts';
import { apiVersionOf, type ResourceSpec } from './discovery.ts';
import { applyPatch, PATCH_TYPES, PatchError, type PatchType } from './patch.ts';
import { fieldSelector, labelSelector, SelectorError } from './selectors.ts';
import type { KubeState, ObjectBody, StoredObject, User } from './state.ts';
import { type Answer, badRequest, invalid, notFound, status } from './status.ts';
import { table, wantsTable } from './tables.ts';
import {
  isRecord,
  metadataErrors,
  normalizeSecret,
  omit,
  secretErrors,
  secretUpdateErrors,
  textOf,
} from './validation.ts';

export interface ResourceRequest {
  readonly method: string;
  readonly spec: ResourceSpec;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly query: URLSearchParams;
  readonly contentType: string;
  readonly accept: string | undefined;
  readonly body: Buffer | undefined;
  readonly user: User;
}

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export function verbOf(method: string, name: string | undefined, query: URLSearchParams): Verb | undefined {
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  if (method === 'GET') return name !== undefined ? 'get' : watch ? 'watch' : 'list';
  if (method === 'POST') return name === undefined ? 'create' : undefined;
  if (method === 'PUT' && name !== undefined) return 'update';
  if (method === 'PATCH' && name !== undefined) return 'patch';
  if (method === 'DELETE' && name !== undefined) return 'delete';
  return undefined;
}

/** get, list, create, update, patch, delete: authorization, then admission, then validation, then storage. */
export function serveResource(state: KubeState, req: ResourceRequest, verb: Exclude<Verb, 'watch'>): Answer {
  const { spec, namespace, name } = req;
  const { kind, resource } = spec;
  const dryRun = req.query.getAll('dryRun');
  if (dryRun.some((v) => v !== 'All'))
    return badRequest(`dryRun: Unsupported value: "${dryRun.find((v) => v !== 'All') ?? ''}": supported values: "All"`);
  if (verb === 'list') {
    let selected: StoredObject[];
    try {
      const labels = labelSelector(req.query.get('labelSelector'));
      const fields = fieldSelector(kind, req.query.get('fieldSelector'));
      selected = state.list(kind, namespace).filter((o) => labels(o) && fields(o));
    } catch (error) {
      if (error instanceof SelectorError) return badRequest(error.message);
      throw error;
    }
    const resourceVersion = state.currentVersion();
    if (wantsTable(req.accept)) return { status: 200, body: table(kind, selected, resourceVersion) };
    return {
      status: 200,
      body: { apiVersion: apiVersionOf(spec), kind: `${kind}List`, metadata: { resourceVersion }, items: selected },
    };
  }
  const existing = name === undefined ? undefined : state.get(kind, namespace, name);
  if (verb === 'get') {
    if (existing === undefined) return notFound(resource, name ?? '', spec.group);
    return {
      status: 200,
      body: wantsTable(req.accept) ? table(kind, [existing], existing.metadata.resourceVersion) : existing,
    };
  }
  if (verb === 'delete') {
    if (existing === undefined) return notFound(resource, name ?? '', spec.group);
    const details = {
      name,
      ...(spec.group === '' ? {} : { group: spec.group }),
      kind: resource,
      uid: existing.metadata.uid,
    };
    if (dryRun.length > 0) return { status: 200, body: successBody(details) };
    const finalizers = existing.metadata.finalizers;
    // Objects with finalizers are only marked for deletion: https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      const marked = state.put(kind, namespace, {
        ...existing,
        metadata: {
          ...existing.metadata,
          deletionTimestamp: existing.metadata.deletionTimestamp ?? new Date().toISOString(),
        },
      });
      return { status: 200, body: marked };
    }
    state.remove(kind, namespace, name ?? '');
    return { status: 200, body: successBody(details) };
  }
  return write(state, req, verb, existing, dryRun.length > 0);
}

function write(
  state: KubeState,
  req: ResourceRequest,
  verb: 'create' | 'update' | 'patch',
  existing: StoredObject | undefined,
  dryRun: boolean,
): Answer {
  const { spec, namespace, name } = req;
  const { kind, resource } = spec;
  if (verb !== 'create' && existing === undefined) return notFound(resource, name ?? '', spec.group);
  let incoming: unknown;
  if (verb === 'patch') {
    const type = PATCH_TYPES.find((t) => req.contentType === t);
    if (type === undefined)
      return status(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
      );
    const patch = parseBody(req.body, 'application/json');
    if ('error' in patch) return patch.error;
    try {
      incoming = applyPatch(type satisfies PatchType, structuredClone(existing), patch.value);
    } catch (error) {
      if (error instanceof PatchError) return status(422, 'Invalid', error.message);
      throw error;
    }
  } else {
    const parsed = parseBody(req.body, req.contentType);
    if ('error' in parsed) return parsed.error;
    incoming = parsed.value;
  }
  if (!isRecord(incoming))
    return badRequest(`${kind} in version "${spec.version}" cannot be handled as a ${kind}: expected an object`);
  const wanted = apiVersionOf(spec);
  if (incoming.kind !== undefined && incoming.kind !== kind)
    return badRequest(
      `${textOf(incoming.kind)} in version "${spec.version}" cannot be handled as a ${kind}: no kind "${textOf(incoming.kind)}" is registered here`,
    );
  if (incoming.apiVersion !== undefined && incoming.apiVersion !== wanted)
    return badRequest(
      `the API version in the data (${textOf(incoming.apiVersion)}) does not match the expected API version (${wanted})`,
    );
  const metadata = isRecord(incoming.metadata) ? { ...incoming.metadata } : {};
  // generateName: https://kubernetes.io/docs/reference/using-api/api-concepts/#generated-values
  if (
    verb === 'create' &&
    (metadata.name === undefined || metadata.name === '') &&
    typeof metadata.generateName === 'string' &&
    metadata.generateName !== ''
  )
    metadata.name = `${metadata.generateName}${suffix()}`;
  const objectName = typeof metadata.name === 'string' ? metadata.name : '';
  if (verb !== 'create' && objectName !== name)
    return badRequest(`the name of the object (${objectName}) does not match the name on the URL (${name ?? ''})`);
  if (
    spec.namespaced &&
    typeof metadata.namespace === 'string' &&
    metadata.namespace !== '' &&
    metadata.namespace !== namespace
  )
    return badRequest('the namespace of the provided object does not match the namespace sent on the request');
  let object: Record<string, unknown> = { ...incoming, apiVersion: wanted, kind, metadata };
  if (kind === 'Secret') {
    const normalized = normalizeSecret(object);
    if ('badRequest' in normalized) return badRequest(normalized.badRequest);
    object = normalized.secret;
  }
  // Admission (NamespaceLifecycle) comes before validation: https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#namespacelifecycle
  if (verb === 'create' && namespace !== undefined && !state.hasNamespace(namespace))
    return notFound('namespaces', namespace);
  const errors = [
    ...metadataErrors(metadata, spec.namespaced),
    ...(kind === 'Secret' ? secretErrors(object) : []),
    ...(kind === 'Secret' && existing !== undefined ? secretUpdateErrors(object, existing) : []),
  ];
  if (errors.length > 0) return invalid(kind, spec.group, objectName, errors);
  if (verb === 'create' && state.get(kind, namespace, objectName) !== undefined)
    return status(409, 'AlreadyExists', `${resource} "${objectName}" already exists`, {
      name: objectName,
      kind: resource,
    });
  if (existing !== undefined) {
    const sent = metadata.resourceVersion;
    const stale = sent !== undefined && sent !== '' && sent !== existing.metadata.resourceVersion;
    const forced = verb === 'update' && state.forcedConflicts > 0;
    if (forced) state.forcedConflicts -= 1;
    // Optimistic concurrency: https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#concurrency-control-and-consistency
    if (stale || forced)
      return status(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource}${spec.group === '' ? '' : `.${spec.group}`} "${objectName}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: objectName, kind: resource },
      );
  }
  const body: ObjectBody = {
    ...object,
    apiVersion: wanted,
    kind,
    metadata: {
      ...serverless(metadata),
      name: objectName,
      ...(existing?.metadata.deletionTimestamp === undefined
        ? {}
        : { deletionTimestamp: existing.metadata.deletionTimestamp }),
    },
  };
  if (dryRun) {
    // dryRun=All: every stage runs, nothing is stored. https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run
    const preview = {
      ...body,
      metadata: {
        ...body.metadata,
        ...(namespace === undefined ? {} : { namespace }),
        uid: existing?.metadata.uid ?? randomUUID(),
        creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString(),
        ...(existing === undefined ? {} : { resourceVersion: existing.metadata.resourceVersion }),
      },
    };
    return { status: verb === 'create' ? 201 : 200, body: preview };
  }
  return { status: verb === 'create' ? 201 : 200, body: state.put(kind, namespace, body) };
}

/** Metadata without what the server owns (it sets those itself). */
function serverless(metadata: Record<string, unknown>): Record<string, unknown> {
  return omit(metadata, ['resourceVersion', 'uid', 'creationTimestamp', 'selfLink', 'namespace', 'deletionTimestamp']);
}

function successBody(details: Record<string, unknown>): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** names.SimpleNameGenerator: five characters from an alphabet without vowels or look-alikes. */
function suffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from({ length: 5 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

/**
 * JSON or YAML bodies; protobuf and anything else are 415, a body that does not parse is 400.
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#alternate-representations-of-resources
 */
function parseBody(raw: Buffer | undefined, contentType: string): { value: unknown } | { error: Answer } {
  if (raw === undefined || raw.length === 0) return { error: badRequest('the body of the request is empty') };
  const text = raw.toString('utf8');
  if (contentType === 'application/json' || contentType === '') {
    try {
      return { value: JSON.parse(text) };
    } catch (error) {
      return {
        error: badRequest(
          `couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`,
        ),
      };
    }
  }
  if (contentType === 'application/yaml') {
    try {
      return { value: parseYaml(text) };
    } catch (error) {
      return {
        error: badRequest(`error converting YAML to JSON: ${error instanceof Error ? error.message : String(error)}`),
      };
    }
  }
  return {
    error: status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    ),
  };
}

export function isAllowed(state: KubeState, req: ResourceRequest, verb: Verb): Answer | undefined {
  if (allowed(state, req.user, verb, req.spec.resource, req.namespace)) return undefined;
  const { resource, group } = req.spec;
  const qualified = group === '' ? resource : `${resource}.${group}`;
  const subject = req.name === undefined ? qualified : `${qualified} "${req.name}"`;
  const scope = req.namespace === undefined ? 'at the cluster scope' : `in the namespace "${req.namespace}"`;
  return status(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${req.user.name}" cannot ${verb} resource "${resource}" in API group "${group}" ${scope}`,
    { name: req.name, ...(group === '' ? {} : { group }), kind: resource },
  );
}
