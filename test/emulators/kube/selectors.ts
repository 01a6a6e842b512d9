import type { StoredObject } from './state.ts';
import { isRecord, textOf } from './validation.ts';

/**
 * Label and field selectors on list and watch.
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors and
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
 */
export type Selector = (object: StoredObject) => boolean;

export class SelectorError extends Error {}

export function labelSelector(text: string | null): Selector {
  if (text === null || text.trim() === '') return () => true;
  const tests = splitTerms(text).map((term): Selector => {
    const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set !== null) {
      const [, key = '', op, values = ''] = set;
      const allowed = values.split(',').map((v) => v.trim());
      return (o) => {
        const value = o.metadata.labels?.[key];
        return op === 'in'
          ? value !== undefined && allowed.includes(value)
          : value === undefined || !allowed.includes(value);
      };
    }
    const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(term);
    if (cmp !== null) {
      const [, key = '', op, value] = cmp;
      return (o) => (op === '!=' ? o.metadata.labels?.[key] !== value : o.metadata.labels?.[key] === value);
    }
    const exists = /^(!?)([A-Za-z0-9][-A-Za-z0-9_./]*)$/.exec(term);
    if (exists !== null) {
      const [, not, key = ''] = exists;
      return (o) => (not === '!') !== (o.metadata.labels?.[key] !== undefined);
    }
    throw new SelectorError(`unable to parse requirement: found '${term}', expected: identifier`);
  });
  return (o) => tests.every((t) => t(o));
}

/** Fields each kind can be selected on (the registry's GetAttrs / SelectableFields). */
const FIELDS: Record<string, Record<string, (o: StoredObject) => string>> = {
  Secret: { type: (o) => textOf(o.type) },
  Node: { 'spec.unschedulable': (o) => String(field(o.spec, 'unschedulable') === true) },
  Namespace: { 'status.phase': (o) => textOf(field(o.status, 'phase')) },
};

export function fieldSelector(kind: string, text: string | null): Selector {
  if (text === null || text.trim() === '') return () => true;
  const tests = splitTerms(text).map((term): Selector => {
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (match === null) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, name = '', op, value] = match;
    const get =
      name === 'metadata.name'
        ? (o: StoredObject) => o.metadata.name
        : name === 'metadata.namespace'
          ? (o: StoredObject) => o.metadata.namespace ?? ''
          : FIELDS[kind]?.[name];
    if (get === undefined) throw new SelectorError(`field label not supported: ${name}`);
    return (o) => (op === '!=' ? get(o) !== value : get(o) === value);
  });
  return (o) => tests.every((t) => t(o));
}

/** Split on commas outside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += ch;
  }
  terms.push(current.trim());
  return terms.filter((t) => t !== '');
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}
