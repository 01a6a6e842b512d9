import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from '../errors.ts';
import type { KubeApi, SecretBody, SecretObject } from './api.ts';
import { KubeApiError } from './errors.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'preflight';

export type ApplyAction = 'created' | 'updated' | 'adopted';

export interface ApplyOptions {
  /** Overwrite (and adopt) a Secret that preflight does not manage. */
  readonly force: boolean;
  /** Attempts before a run of conflicts is given up; each attempt re-reads. */
  readonly attempts?: number;
  readonly signal?: AbortSignal;
}

/**
 * Create the Secret, or update it conditionally on the resourceVersion just read; on a 409 (another
 * writer won) read again and retry, up to `attempts`. Never delete-then-create: a reader always sees
 * either the old complete Secret or the new one. A Secret preflight does not manage is refused
 * unless `force`.
 */
export async function applySecret(
  kube: KubeApi,
  namespace: string,
  desired: Omit<SecretBody, 'resourceVersion'>,
  options: ApplyOptions,
): Promise<{ action: ApplyAction; secret: SecretObject; attempts: number }> {
  const attempts = options.attempts ?? 12;
  for (let attempt = 1; ; attempt++) {
    const existing = await kube.readSecret(namespace, desired.name);
    try {
      if (existing === undefined)
        return { action: 'created', secret: await kube.createSecret(namespace, desired), attempts: attempt };
      const managed = existing.labels[MANAGED_BY_LABEL] === MANAGED_BY;
      if (!managed && !options.force) {
        throw new ConfigError(
          `Secret ${namespace}/${desired.name} exists and is not managed by preflight (no label ${MANAGED_BY_LABEL}=${MANAGED_BY}); refusing to overwrite it`,
          {
            hint: `pick another --secret-name, or pass --force to adopt and overwrite it`,
          },
        );
      }
      if (existing.type !== desired.type) {
        // The API server forbids changing a Secret's type in place, and deleting it would leave a gap.
        throw new ConfigError(
          `Secret ${namespace}/${desired.name} has type ${existing.type}, and preflight writes ${desired.type} there; Kubernetes cannot change a Secret's type`,
          {
            hint: `pick another secret name, or delete it first: oc delete secret ${desired.name} -n ${namespace}`,
          },
        );
      }
      const body: SecretBody = {
        ...desired,
        resourceVersion: existing.resourceVersion,
        // Keep labels and annotations others put there (GitOps tools, owners); ours win on a clash.
        labels: { ...existing.labels, ...desired.labels },
        annotations: { ...existing.annotations, ...desired.annotations },
      };
      return {
        action: managed ? 'updated' : 'adopted',
        secret: await kube.replaceSecret(namespace, body),
        attempts: attempt,
      };
    } catch (error) {
      const conflict =
        error instanceof KubeApiError &&
        (error.reason === 'Conflict' ||
          error.reason === 'AlreadyExists' ||
          (existing !== undefined && error.status === 404));
      if (!conflict) throw error;
      if (attempt >= attempts) {
        throw new KubeApiError(
          `Secret ${namespace}/${desired.name} kept changing under preflight: ${attempts} conditional writes lost to other writers`,
          {
            status: 409,
            reason: 'Conflict',
            hint: 'another process is rewriting this Secret in a loop: stop it (a second --watch or CronJob?) and run again',
          },
        );
      }
      // Jittered backoff so that racing writers do not collide again in lockstep.
      await delay(
        Math.round(Math.random() * Math.min(200, 10 * 2 ** attempt)),
        undefined,
        options.signal === undefined ? {} : { signal: options.signal },
      );
    }
  }
}
