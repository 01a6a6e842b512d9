import { randomBytes, randomUUID } from 'node:crypto';

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
  };
  [key: string]: unknown;
}

export interface KubeFault {
  readonly method?: string;
  readonly path: RegExp;
  readonly status: number;
  times: number;
}

/** The API server's world: objects by kind/namespace/name, one resourceVersion counter, users and RBAC. */
export class KubeState {
  readonly objects = new Map<string, StoredObject>();
  readonly users = new Map<string, User>();
  readonly faults: KubeFault[] = [];
  /** Requests served: method, path, user, status. */
  readonly log: { method: string; path: string; user: string | undefined; status: number }[] = [];
  /** Updates to answer 409 regardless of their resourceVersion (a concurrent writer). */
  forcedConflicts = 0;
  #version = 100;

  nextVersion(): string {
    this.#version += 1;
    return String(this.#version);
  }

  addUser(name: string, rules: Rule[], groups: readonly string[] = ['system:authenticated']): User {
    const user = { name, groups, token: randomBytes(24).toString('base64url'), rules };
    this.users.set(user.token, user);
    return user;
  }

  put(
    kind: string,
    namespace: string | undefined,
    body: { apiVersion: string; kind: string; [key: string]: unknown } & {
      metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    },
  ): StoredObject {
    const key = keyOf(kind, namespace, body.metadata.name);
    const previous = this.objects.get(key);
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
    this.objects.set(key, stored);
    return stored;
  }

  get(kind: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(keyOf(kind, namespace, name));
  }

  list(kind: string, namespace: string | undefined): StoredObject[] {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${kind}/${namespace ?? ''}/`))
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
}

export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}
