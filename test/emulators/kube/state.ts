import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

export interface Rule {
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
  /** Namespaces the rule covers; all when absent (a ClusterRole binding). */
  readonly namespaces?: readonly string[];
}

export interface User {
  readonly name: string;
  readonly groups: readonly string[];
  readonly token: string;
  readonly rules: Rule[];
}

/** A stored object: what the API returns, with metadata the server owns. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion: string;
    uid: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What `put` takes: an object whose server-owned metadata the store fills in. */
export type ObjectBody = { apiVersion: string; kind: string; [key: string]: unknown } & {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
};

export interface KubeFault {
  readonly method?: string;
  readonly path: RegExp;
  readonly status: number;
  times: number;
}

export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: StoredObject;
}

/**
 * Namespaces a fresh cluster has.
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces
 */
const INITIAL_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/**
 * The API server's world: objects by kind/namespace/name, one resourceVersion counter, users and RBAC.
 * Namespaces live apart from `objects`, so a test that clears the objects between cases keeps them.
 */
export class KubeState {
  readonly objects = new Map<string, StoredObject>();
  readonly namespaces = new Map<string, StoredObject>();
  readonly users = new Map<string, User>();
  readonly faults: KubeFault[] = [];
  /** Requests served: method, path, user, status. */
  readonly log: { method: string; path: string; user: string | undefined; status: number }[] = [];
  /** Every change in order, for watches that start from a resourceVersion. */
  readonly history: WatchEvent[] = [];
  /** Emits 'event' with a WatchEvent after each change. */
  readonly changes = new EventEmitter();
  /** Updates to answer 409 regardless of their resourceVersion (a concurrent writer). */
  forcedConflicts = 0;
  #version = 100;

  constructor() {
    this.changes.setMaxListeners(0);
    for (const name of INITIAL_NAMESPACES) this.addNamespace(name);
  }

  nextVersion(): string {
    this.#version += 1;
    return String(this.#version);
  }

  currentVersion(): string {
    return String(this.#version);
  }

  addUser(name: string, rules: Rule[], groups: readonly string[] = ['system:authenticated']): User {
    const user = { name, groups, token: randomBytes(24).toString('base64url'), rules };
    this.users.set(user.token, user);
    return user;
  }

  addNamespace(name: string): StoredObject {
    return this.put('Namespace', undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }

  hasNamespace(name: string): boolean {
    return this.namespaces.has(keyOf('Namespace', undefined, name));
  }

  put(kind: string, namespace: string | undefined, body: ObjectBody): StoredObject {
    const key = keyOf(kind, namespace, body.metadata.name);
    const store = this.#store(kind);
    const previous = store.get(key);
    const stored: StoredObject = {
      ...body,
      metadata: {
        ...body.metadata,
        ...(namespace === undefined ? {} : { namespace }),
        resourceVersion: this.nextVersion(),
        uid: previous?.metadata.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString(),
      },
    };
    store.set(key, stored);
    this.#emit({ type: previous === undefined ? 'ADDED' : 'MODIFIED', object: stored });
    return stored;
  }

  /** Remove an object; the event carries a fresh resourceVersion, as the API server's does. */
  remove(kind: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const key = keyOf(kind, namespace, name);
    const store = this.#store(kind);
    const previous = store.get(key);
    if (previous === undefined) return undefined;
    store.delete(key);
    const gone = { ...previous, metadata: { ...previous.metadata, resourceVersion: this.nextVersion() } };
    this.#emit({ type: 'DELETED', object: gone });
    return gone;
  }

  get(kind: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#store(kind).get(keyOf(kind, namespace, name));
  }

  /** Objects of `kind`; in one namespace, or in all when `namespace` is undefined. */
  list(kind: string, namespace: string | undefined): StoredObject[] {
    return [...this.#store(kind).entries()]
      .filter(([key]) => key.startsWith(namespace === undefined ? `${kind}/` : `${kind}/${namespace}/`))
      .map(([, value]) => value);
  }

  allowed(user: User, verb: string, resource: string, namespace: string | undefined): boolean {
    return user.rules.some(
      (r) =>
        (r.verbs.includes(verb) || r.verbs.includes('*')) &&
        (r.resources.includes(resource) || r.resources.includes('*')) &&
        (r.namespaces === undefined || (namespace !== undefined && r.namespaces.includes(namespace))),
    );
  }

  takeFault(method: string, path: string): KubeFault | undefined {
    const fault = this.faults.find(
      (f) => f.times > 0 && (f.method === undefined || f.method === method) && f.path.test(path),
    );
    if (fault !== undefined) fault.times -= 1;
    return fault;
  }

  #store(kind: string): Map<string, StoredObject> {
    return kind === 'Namespace' ? this.namespaces : this.objects;
  }

  #emit(event: WatchEvent): void {
    this.history.push(event);
    this.changes.emit('event', event);
  }
}

export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
