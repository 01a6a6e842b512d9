import type { StoredObject } from './state.ts';
import { isRecord, textOf } from './validation.ts';

/**
 * Server-side printing: a meta.k8s.io/v1 Table when the client asks for one in Accept (kubectl get does).
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables; the columns
 * are the API server's own printers (pkg/printers/internalversion/printers.go).
 */
interface Column {
  readonly name: string;
  readonly type: string;
  readonly priority?: number;
  readonly cell: (o: StoredObject) => string | number;
}

const NAME: Column = { name: 'Name', type: 'string', cell: (o) => o.metadata.name };
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) };

const COLUMNS: Record<string, readonly Column[]> = {
  Secret: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => textOf(o.type) },
    { name: 'Data', type: 'string', cell: (o) => (isRecord(o.data) ? Object.keys(o.data).length : 0) },
    AGE,
  ],
  Node: [
    NAME,
    { name: 'Status', type: 'string', cell: nodeStatus },
    { name: 'Roles', type: 'string', cell: nodeRoles },
    AGE,
    { name: 'Version', type: 'string', cell: (o) => info(o, 'kubeletVersion') },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => address(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => address(o, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, cell: (o) => info(o, 'osImage') },
    { name: 'Kernel-Version', type: 'string', priority: 1, cell: (o) => info(o, 'kernelVersion') },
    { name: 'Container-Runtime', type: 'string', priority: 1, cell: (o) => info(o, 'containerRuntimeVersion') },
  ],
  Namespace: [NAME, { name: 'Status', type: 'string', cell: (o) => textOf(at(o, 'status', 'phase')) }, AGE],
};

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

export function table(kind: string, objects: readonly StoredObject[], resourceVersion: string): unknown {
  const columns = COLUMNS[kind] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.name === 'Name' ? 'name' : '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** duration.HumanDuration, to the unit kubectl prints. */
function age(timestamp: string): string {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

function at(o: unknown, ...keys: string[]): unknown {
  let here = o;
  for (const key of keys) here = isRecord(here) ? here[key] : undefined;
  return here;
}

function info(o: StoredObject, key: string): string {
  const value = at(o, 'status', 'nodeInfo', key);
  return typeof value === 'string' && value !== '' ? value : '<unknown>';
}

function address(o: StoredObject, type: string): string {
  const list = at(o, 'status', 'addresses');
  const found: unknown = Array.isArray(list) ? list.find((a) => isRecord(a) && a.type === type) : undefined;
  return isRecord(found) && typeof found.address === 'string' ? found.address : '<none>';
}

function nodeStatus(o: StoredObject): string {
  const conditions = at(o, 'status', 'conditions');
  const ready: unknown = Array.isArray(conditions)
    ? conditions.find((c) => isRecord(c) && c.type === 'Ready')
    : undefined;
  const state = !isRecord(ready) ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  return at(o, 'spec', 'unschedulable') === true ? `${state},SchedulingDisabled` : state;
}

function nodeRoles(o: StoredObject): string {
  const roles = Object.keys(o.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length === 0 ? '<none>' : roles.sort().join(',');
}
