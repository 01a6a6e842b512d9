/** An answer of the double: status code, JSON body, and an optional streaming tail (watch). */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * A metav1.Status, as every API server error is sent.
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-deletion and
 * https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#response-status-kind
 */
export function status(
  code: number,
  reason: string,
  message: string,
  details?: {
    name?: string | undefined;
    group?: string;
    kind: string;
    causes?: readonly { reason: string; message: string; field: string }[];
  },
): Answer {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: code < 400 ? 'Success' : 'Failure',
      message,
      reason,
      ...(details === undefined ? {} : { details }),
      code,
    },
  };
}

export function notFound(resource: string, name: string, group = ''): Answer {
  return status(404, 'NotFound', `${resource}${group === '' ? '' : `.${group}`} "${name}" not found`, {
    name,
    ...(group === '' ? {} : { group }),
    kind: resource,
  });
}

export function badRequest(message: string): Answer {
  return status(400, 'BadRequest', message);
}

const CAUSES: Record<string, string> = {
  'Invalid value': 'FieldValueInvalid',
  'Required value': 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
  'Too long': 'FieldValueTooLong',
  'Unsupported value': 'FieldValueNotSupported',
};

/**
 * 422 from field errors `field: Body`, as apierrors.NewInvalid builds it: the message joins them, the
 * details name the Kind and carry one cause per field (kubectl prints those).
 */
export function invalid(kind: string, group: string, name: string, errors: readonly string[]): Answer {
  const message = `${kind} "${name}" is invalid: ${errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`}`;
  const causes = errors.map((error) => {
    const at = error.indexOf(': ');
    const body = error.slice(at + 2);
    const type = Object.keys(CAUSES).find((prefix) => body.startsWith(prefix));
    return {
      reason: type === undefined ? 'FieldValueInvalid' : (CAUSES[type] ?? ''),
      message: body,
      field: error.slice(0, at),
    };
  });
  return status(422, 'Invalid', message, { name, ...(group === '' ? {} : { group }), kind, causes });
}
