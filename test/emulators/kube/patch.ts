import { isRecord, omit, textOf } from './validation.ts';

/**
 * The three PATCH bodies the API server takes (https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/):
 * JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
 * (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md).
 * Server-side apply (application/apply-patch+yaml) is not served: 415, never a silent success.
 */
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

export type PatchType = (typeof PATCH_TYPES)[number];

export class PatchError extends Error {}

export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  if (type === 'application/json-patch+json') return jsonPatch(target, patch);
  if (!isRecord(patch)) throw new PatchError('patch body must be a JSON object');
  return type === 'application/merge-patch+json' ? mergePatch(target, patch) : strategicMerge(target, patch, []);
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Lists with a merge strategy, by path, for the kinds the double stores: metadata.finalizers merge as a
 * set, metadata.ownerReferences by uid (patchMergeKey); every other list is replaced, as for Secrets,
 * whose fields are maps and scalars.
 */
const MERGE_LISTS: Record<string, string | null> = { 'metadata.finalizers': null, 'metadata.ownerReferences': 'uid' };

function strategicMerge(target: unknown, patch: Record<string, unknown>, path: string[]): unknown {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    return omit(patch, ['$patch']);
  }
  if (directive !== undefined) throw new PatchError(`unknown patch type: ${textOf(directive)}`);
  if (patch.$retainKeys !== undefined) throw new PatchError('$retainKeys is not supported by this server');
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const name = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = Array.isArray(value) ? value : [];
      const current = out[name];
      if (Array.isArray(current)) out[name] = current.filter((item) => !drop.includes(item));
      continue;
    }
    const here = [...path, key].join('.');
    if (value === null) Reflect.deleteProperty(out, key);
    else if (isRecord(value)) {
      const merged = strategicMerge(out[key], value, [...path, key]);
      if (merged === undefined) Reflect.deleteProperty(out, key);
      else out[key] = merged;
    } else if (Array.isArray(value) && here in MERGE_LISTS) out[key] = mergeList(out[key], value, MERGE_LISTS[here]);
    else out[key] = value;
  }
  return out;
}

function mergeList(current: unknown, patch: unknown[], mergeKey: string | null | undefined): unknown[] {
  const base: unknown[] = Array.isArray(current) ? Array.from<unknown>(current) : [];
  if (mergeKey === null || mergeKey === undefined) return [...base, ...patch.filter((item) => !base.includes(item))];
  for (const item of patch) {
    const key = isRecord(item) ? item[mergeKey] : undefined;
    const index = base.findIndex((entry) => isRecord(entry) && entry[mergeKey] === key);
    if (isRecord(item) && item.$patch === 'delete') {
      if (index >= 0) base.splice(index, 1);
    } else if (index >= 0) base[index] = mergePatch(base[index], item);
    else base.push(item);
  }
  return base;
}

/** RFC 6902 with RFC 6901 pointers. */
function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be an array of operations');
  let doc: unknown = structuredClone(target);
  for (const op of patch) {
    if (!isRecord(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw new PatchError('each operation needs "op" and "path"');
    const path = op.path;
    switch (op.op) {
      case 'add':
        doc = setAt(doc, pointer(path), required(op, 'value'), 'add');
        break;
      case 'replace':
        getAt(doc, pointer(path));
        doc = setAt(doc, pointer(path), required(op, 'value'), 'replace');
        break;
      case 'remove':
        doc = removeAt(doc, pointer(path));
        break;
      case 'move': {
        const from = pointer(text(op.from, 'from'));
        const value = getAt(doc, from);
        doc = setAt(removeAt(doc, from), pointer(path), value, 'add');
        break;
      }
      case 'copy':
        doc = setAt(doc, pointer(path), structuredClone(getAt(doc, pointer(text(op.from, 'from')))), 'add');
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, pointer(path))) !== JSON.stringify(required(op, 'value')))
          throw new PatchError(`testing value ${path} failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

function required(op: Record<string, unknown>, key: string): unknown {
  if (!(key in op)) throw new PatchError(`operation ${String(op.op)} needs "${key}"`);
  return op[key];
}

function text(value: unknown, key: string): string {
  if (typeof value !== 'string') throw new PatchError(`operation needs "${key}"`);
  return value;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function getAt(doc: unknown, parts: string[]): unknown {
  let here: unknown = doc;
  for (const part of parts) {
    if (Array.isArray(here) && /^\d+$/.test(part) && Number(part) < here.length) here = here[Number(part)];
    else if (isRecord(here) && part in here) here = here[part];
    else throw new PatchError(`doc is missing path: /${parts.join('/')}`);
  }
  return here;
}

function setAt(doc: unknown, parts: string[], value: unknown, mode: 'add' | 'replace'): unknown {
  if (parts.length === 0) return value;
  const parent = getAt(doc, parts.slice(0, -1));
  const last = parts.at(-1) ?? '';
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length)
      throw new PatchError(`unable to access invalid index: ${last}`);
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isRecord(parent)) parent[last] = value;
  else throw new PatchError(`doc is missing path: /${parts.join('/')}`);
  return doc;
}

function removeAt(doc: unknown, parts: string[]): unknown {
  getAt(doc, parts);
  const parent = getAt(doc, parts.slice(0, -1));
  const last = parts.at(-1) ?? '';
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isRecord(parent)) Reflect.deleteProperty(parent, last);
  return doc;
}
