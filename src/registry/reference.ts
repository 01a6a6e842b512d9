import { UsageError } from '../errors.ts';

/** A parsed image reference, normalised as docker does (`ubuntu` → `docker.io/library/ubuntu`). */
export interface ImageReference {
  /** `host[:port]` as written, after normalisation: `docker.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

// The grammar of distribution/reference (reference.go), piece by piece.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const NAME_MAX = 255;

/**
 * Parse `host[:port]/path[:tag][@digest]`. Errors name the reference and what is wrong, since a
 * typo here otherwise surfaces as a 404 from a registry an hour later.
 */
export function parseReference(input: string): ImageReference {
  const text = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  const invalid = (why: string, hint = 'write it as host[:port]/repository[:tag][@sha256:<64 hex>]'): UsageError =>
    new UsageError(`invalid image reference "${input}": ${why}`, { hint });
  if (text === '') throw invalid('it is empty');

  const at = text.indexOf('@');
  const digest = at >= 0 ? text.slice(at + 1) : undefined;
  const beforeDigest = at >= 0 ? text.slice(0, at) : text;
  if (digest !== undefined) {
    if (!DIGEST.test(digest)) throw invalid(`"${digest}" is not a digest`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest))
      throw invalid('a sha256 digest has exactly 64 lowercase hex characters');
  }

  // A colon after the last slash starts the tag; earlier colons belong to host:port.
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const name = colon >= 0 ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = colon >= 0 ? beforeDigest.slice(colon + 1) : undefined;
  if (tag !== undefined && !TAG.test(tag)) {
    throw invalid(
      `tag "${tag}" is not valid`,
      'a tag is 1-128 characters of letters, digits, _ . - and does not start with . or -',
    );
  }

  const { registry, repository } = splitName(name);
  if (!HOST.test(registry)) throw invalid(`"${registry}" is not a valid registry host`);
  if (repository !== repository.toLowerCase()) {
    throw invalid('repository names must be lowercase', `use "${repository.toLowerCase()}"`);
  }
  if (!REPOSITORY.test(repository)) {
    throw invalid(
      `repository "${repository}" is not valid`,
      'path components are lowercase letters and digits, separated by one of . _ __ - and joined by /',
    );
  }
  if (name.length > NAME_MAX) throw invalid(`the name is longer than ${NAME_MAX} characters`);
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** docker's rule: the first component is a host when it has a dot or colon, is localhost, or has capitals. */
function splitName(name: string): { registry: string; repository: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const isHost = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  if (!isHost) return { registry: 'docker.io', repository: slash >= 0 ? name : `library/${name}` };
  const registry = first === 'index.docker.io' ? 'docker.io' : first;
  const rest = name.slice(slash + 1);
  return { registry, repository: registry === 'docker.io' && !rest.includes('/') ? `library/${rest}` : rest };
}

/** The canonical string: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The host that serves the registry API: Docker Hub's API is not at docker.io. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

/** Loopback registries may use plain HTTP without --insecure-registry; nothing else may. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : (registry.split(':')[0] ?? '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}
