import { KubeApiError } from '../errors.ts';

// Declared with every other error class in src/errors.ts (one table of codes).
export { KubeApiError };

/** What a call was doing, for the message: `create secrets "x" in namespace "ns"`. */
export interface KubeCall {
  readonly verb: string;
  readonly resource: string;
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  /** The kubeconfig user (or "the pod ServiceAccount") and the API server, for 401/403 and network errors. */
  readonly user: string;
  readonly server: string;
}

/**
 * Translate whatever client-node threw. Its ApiException message embeds the whole response body and
 * headers, so only `code` and the parsed Status `reason`/`message` are used: a 409 on a Secret must
 * not carry data into a log.
 */
export function kubeError(error: unknown, call: KubeCall): KubeApiError {
  const code = apiCode(error);
  const what = `${call.verb} ${call.resource}${call.name === undefined ? '' : ` "${call.name}"`}${call.namespace === undefined ? '' : ` in namespace "${call.namespace}"`}`;
  if (code === undefined) {
    const cause = rootCause(error);
    return new KubeApiError(`cannot reach the Kubernetes API at ${call.server} to ${what}: ${cause}`, {
      status: 0,
      reason: 'Unreachable',
      hint: /certificate|self.signed|CERT_|UNABLE_TO_VERIFY/i.test(cause)
        ? 'the API certificate is not trusted: add the CA to the kubeconfig (certificate-authority-data) or log in again'
        : 'check the cluster URL and VPN, then oc login again',
    });
  }
  const status = statusOf(error);
  const reason =
    status.reason ??
    (code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'NotFound' : 'Unknown');
  if (code === 401) {
    return new KubeApiError(
      `the Kubernetes API at ${call.server} rejected the credentials of ${describeUser(call.user)} (401 Unauthorized) while trying to ${what}`,
      {
        status: code,
        reason,
        exitCode: 2,
        hint: 'the login token has expired or is wrong: run oc login again (or kubectl config use-context the right cluster)',
      },
    );
  }
  if (code === 403) {
    return new KubeApiError(`${describeUser(call.user)} may not ${what} (403 Forbidden)`, {
      status: code,
      reason,
      exitCode: 2,
      hint: grantHint(call),
    });
  }
  if (code === 404 && status.detailsKind === 'namespaces' && call.namespace !== undefined) {
    // The API server's NamespaceLifecycle admission answers a create in a missing namespace this way.
    return new KubeApiError(
      `namespace "${call.namespace}" does not exist on ${call.server} (404 while trying to ${what})`,
      {
        status: code,
        reason,
        exitCode: 2,
        hint: 'check --namespace (or DS_PROJECT) and the kubeconfig context: oc project / kubectl config current-context',
      },
    );
  }
  return new KubeApiError(
    `Kubernetes API ${what}: ${code} ${reason}${status.message === undefined ? '' : `: ${status.message}`}`,
    { status: code, reason },
  );
}

/** The RBAC a user is missing, as commands to hand to a namespace admin. */
export function grantHint(call: {
  readonly verbs?: readonly string[];
  readonly verb?: string;
  readonly resource: string;
  readonly namespace?: string | undefined;
  readonly user: string;
}): string {
  const verbs = call.verbs ?? (call.verb === undefined ? [] : [call.verb]);
  const ns = call.namespace ?? 'NAMESPACE';
  const subject = subjectFlag(call.user);
  return `grant ${verbs.join(', ')} on ${call.resource} in ${ns}: oc create role preflight-${call.resource} --verb=${verbs.join(',')} --resource=${call.resource} -n ${ns} && oc create rolebinding preflight-${call.resource} --role=preflight-${call.resource} ${subject} -n ${ns} (or apply deploy/k8s/rbac.yaml)`;
}

function subjectFlag(user: string): string {
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  if (sa !== null) return `--serviceaccount=${sa[1] ?? ''}:${sa[2] ?? ''}`;
  return user === 'the pod ServiceAccount' ? '--serviceaccount=NAMESPACE:SERVICEACCOUNT' : `--user=${user}`;
}

function describeUser(user: string): string {
  return user.startsWith('the ') ? user : `kubeconfig user "${user}"`;
}

/** The HTTP status of a client-node ApiException (duck-typed: it is the only error with a numeric `code`). */
export function apiCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' && error.code >= 100 ? error.code : undefined;
}

function statusOf(error: unknown): { reason?: string; message?: string; detailsKind?: string } {
  if (typeof error !== 'object' || error === null || !('body' in error)) return {};
  const raw = error.body;
  let body: unknown = raw;
  if (typeof raw === 'string') {
    try {
      body = JSON.parse(raw);
    } catch {
      return {};
    }
  }
  if (typeof body !== 'object' || body === null) return {};
  const reason = 'reason' in body && typeof body.reason === 'string' && body.reason !== '' ? body.reason : undefined;
  const message = 'message' in body && typeof body.message === 'string' ? body.message : undefined;
  const details = 'details' in body && typeof body.details === 'object' ? body.details : undefined;
  const detailsKind =
    details !== undefined && details !== null && 'kind' in details && typeof details.kind === 'string'
      ? details.kind
      : undefined;
  return {
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
    ...(detailsKind === undefined ? {} : { detailsKind }),
  };
}

function rootCause(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5; depth++) {
    if (typeof current === 'object' && current !== null && 'cause' in current && current.cause !== undefined)
      current = current.cause;
    else break;
  }
  const message = current instanceof Error ? current.message : String(current);
  return message.split('\n')[0] ?? message;
}
