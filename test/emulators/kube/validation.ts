/**
 * The API server's checks on object metadata and on Secrets, with its own messages.
 * Source: k8s.io/apimachinery/pkg/util/validation (IsDNS1123Subdomain, IsConfigMapKey) and
 * k8s.io/kubernetes/pkg/apis/core/validation (ValidateObjectMeta, ValidateSecret, ValidateSecretUpdate);
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/names/ and
 * https://kubernetes.io/docs/concepts/configuration/secret/
 */

type Body = Record<string, unknown>;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** https://kubernetes.io/docs/concepts/configuration/secret/#restriction-data-size */
const MAX_SECRET_SIZE = 1024 * 1024;

export function subdomainError(field: string, value: string): string | undefined {
  if (value.length > 253) return `${field}: Invalid value: "${value}": must be no more than 253 characters`;
  if (DNS1123_SUBDOMAIN.test(value)) return undefined;
  return `${field}: Invalid value: "${value}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
}

/** Field errors of `metadata` (name already resolved from generateName). */
export function metadataErrors(metadata: Body, namespaced: boolean): string[] {
  const errors: string[] = [];
  const name = metadata.name;
  if (typeof name !== 'string' || name === '')
    errors.push('metadata.name: Required value: name or generateName is required');
  else {
    const invalid = subdomainError('metadata.name', name);
    if (invalid !== undefined) errors.push(invalid);
  }
  for (const key of ['labels', 'annotations']) {
    const value = metadata[key];
    if (value !== undefined && !isStringMap(value))
      errors.push(`metadata.${key}: Invalid value: must be a map of strings`);
  }
  if (!namespaced && metadata.namespace !== undefined && metadata.namespace !== '')
    errors.push('metadata.namespace: Forbidden: not allowed on this type');
  return errors;
}

/**
 * Convert a v1 Secret as sent into what is stored: `stringData` merged over `data` (base64-encoded),
 * `type` defaulted to Opaque. https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/
 * Answers the decode error the server gives (400) for data that is not base64.
 */
export function normalizeSecret(body: Body): { secret: Body } | { badRequest: string } {
  const data = body.data ?? {};
  if (!isRecord(data))
    return { badRequest: 'Secret in version "v1" cannot be handled as a Secret: data: expected a map' };
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 !== 0)
      return {
        badRequest: `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 in data[${key}]`,
      };
  }
  const stringData = body.stringData ?? {};
  if (!isStringMap(stringData))
    return {
      badRequest: 'Secret in version "v1" cannot be handled as a Secret: stringData: expected a map of strings',
    };
  const merged: Record<string, string> = { ...strings(data) };
  for (const [key, value] of Object.entries(stringData)) merged[key] = Buffer.from(value, 'utf8').toString('base64');
  const rest = omit(body, ['stringData']);
  const type = typeof body.type === 'string' && body.type !== '' ? body.type : 'Opaque';
  return { secret: { ...rest, type, ...(Object.keys(merged).length > 0 ? { data: merged } : {}) } };
}

/** ValidateSecret: keys, size, and what each built-in type requires. */
export function secretErrors(secret: Body): string[] {
  const errors: string[] = [];
  const data = isStringMap(secret.data) ? secret.data : {};
  let size = 0;
  for (const [key, value] of Object.entries(data)) {
    if (!CONFIG_KEY.test(key))
      errors.push(
        `data[${key}]: Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
      );
    size += Buffer.from(value, 'base64').length;
  }
  if (size > MAX_SECRET_SIZE) errors.push(`data: Too long: must have at most ${MAX_SECRET_SIZE} bytes`);
  const decoded = (key: string) =>
    data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
  const required = (key: string) => {
    if (data[key] === undefined) errors.push(`data[${key}]: Required value`);
  };
  switch (secret.type) {
    case 'kubernetes.io/dockerconfigjson': {
      required('.dockerconfigjson');
      const raw = decoded('.dockerconfigjson');
      if (raw !== undefined && !isJson(raw))
        errors.push('data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid JSON');
      break;
    }
    case 'kubernetes.io/dockercfg': {
      required('.dockercfg');
      const raw = decoded('.dockercfg');
      if (raw !== undefined && !isJson(raw))
        errors.push('data[.dockercfg]: Invalid value: "<secret contents redacted>": invalid JSON');
      break;
    }
    case 'kubernetes.io/tls':
      required('tls.crt');
      required('tls.key');
      break;
    case 'kubernetes.io/ssh-auth':
      required('ssh-privatekey');
      break;
    case 'kubernetes.io/basic-auth':
      if (data.username === undefined && data.password === undefined)
        errors.push('data[username]: Required value: either username or password or both must be provided');
      break;
    case 'kubernetes.io/service-account-token': {
      const annotations = isStringMap(field(secret.metadata, 'annotations'))
        ? field(secret.metadata, 'annotations')
        : {};
      if (!isRecord(annotations) || annotations['kubernetes.io/service-account.name'] === undefined)
        errors.push('metadata.annotations[kubernetes.io/service-account.name]: Required value');
      break;
    }
    default:
      break;
  }
  return errors;
}

/** ValidateSecretUpdate: the type never changes; an immutable Secret keeps its data and its flag. */
export function secretUpdateErrors(next: Body, old: Body): string[] {
  const errors: string[] = [];
  if (next.type !== old.type) errors.push(`type: Invalid value: "${String(next.type)}": field is immutable`);
  if (old.immutable === true) {
    if (next.immutable !== true) errors.push('immutable: Forbidden: field is immutable when `immutable` is set');
    if (JSON.stringify(sorted(next.data)) !== JSON.stringify(sorted(old.data)))
      errors.push('data: Forbidden: field is immutable when `immutable` is set');
  }
  return errors;
}

function sorted(value: unknown): unknown {
  return isRecord(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : {};
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function strings(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, String(v)]));
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** A value as text for a message: strings as they are, anything else as JSON. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
}

/** `record` without `keys`. */
export function omit(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}
