/** The DNS suffix of an ECR registry host: commercial, China, or dual-stack. */
export type EcrPartitionSuffix = 'amazonaws.com' | 'amazonaws.com.cn' | 'on.aws';

/** A private ECR repository reference, split into the parts AWS calls need. */
export interface EcrUri {
  /** The 12-digit AWS account (registry id). */
  readonly account: string;
  readonly region: string;
  /** `dkr.ecr-fips.…` / `dkr-ecr-fips.…`: the FIPS 140 endpoint. */
  readonly fips: boolean;
  /** `dkr-ecr.<region>.on.aws`: the IPv4 and IPv6 endpoint. */
  readonly dualStack: boolean;
  readonly partitionSuffix: EcrPartitionSuffix;
  /** The registry host, lowercased, without scheme or path. */
  readonly host: string;
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>`. */
  readonly digest?: string;
}

/**
 * The outcome of {@link parseEcrUri}. `not-ecr` is a valid-looking reference to another registry;
 * `invalid` is an ECR reference (or no reference at all) that tools would reject. `suggestion` is
 * the input with the fix applied, when the fix is certain.
 */
export type EcrUriParseResult =
  | { readonly ok: true; readonly value: EcrUri }
  | { readonly ok: false; readonly kind: 'not-ecr' | 'invalid'; readonly reason: string; readonly suggestion?: string };

// Anything shaped like an ECR host, loosely, so that a typo in one part is reported as what it is
// instead of "not ECR".
const LOOSE_HOST =
  /^(?<account>[^.]*)\.(?<service>dkr[.-]ecr)(?<fips>-fips)?\.(?<region>[^.]*)\.(?<suffix>amazonaws\.com(?:\.cn)?|on\.aws)(?<port>:\d+)?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
// The ECR API's repositoryName pattern (CreateRepository), stricter than the distribution grammar.
const REPOSITORY = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_MIN = 2;
const REPOSITORY_MAX = 256;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const PREFIXES = ['docker://', 'https://'];

type HostParse =
  | { readonly ok: true; readonly host: Omit<EcrUri, 'repository' | 'tag' | 'digest'> }
  | Extract<EcrUriParseResult, { ok: false }>;

/**
 * Parse `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag][@sha256:…]` or the
 * dual-stack `<account>.dkr-ecr[-fips].<region>.on.aws/…`, with an optional `docker://` or
 * `https://` prefix. Reasons name exactly what is wrong, since a typo here otherwise surfaces as a
 * 404 or a 401 from the registry much later.
 */
export function parseEcrUri(input: string): EcrUriParseResult {
  const prefix = PREFIXES.find((p) => input.toLowerCase().startsWith(p));
  const text = prefix === undefined ? input : input.slice(prefix.length);
  if (text.trim() === '') return invalid('it is empty');
  if (/\s/.test(text)) {
    const trimmed = text.trim();
    // Only padding is fixable; whitespace inside is a different mistake (a space in a repository name).
    const fixable = !/\s/.test(trimmed) && parseEcrUri(trimmed).ok;
    return invalid('it contains whitespace', fixable ? trimmed : undefined);
  }

  const slash = text.indexOf('/');
  const hostPart = slash < 0 ? text : text.slice(0, slash);
  const host = parseHost(hostPart);
  if (!host.ok) {
    if (host.suggestion === undefined || slash < 0) return host;
    return { ...host, suggestion: `${host.suggestion}${text.slice(slash)}` };
  }
  const rest = slash < 0 ? '' : text.slice(slash + 1);
  const hostName = host.host.host;
  if (rest === '') return invalid(`there is no repository after the registry host ${hostName}`);

  const at = rest.indexOf('@');
  const digest = at < 0 ? undefined : rest.slice(at + 1);
  const name = at < 0 ? rest : rest.slice(0, at);
  // A colon after the last slash starts the tag; ECR hosts take no port, so there is no other colon.
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  const repository = colon < 0 ? name : name.slice(0, colon);
  const tag = colon < 0 ? undefined : name.slice(colon + 1);
  const rebuild = (parts: { repository?: string; tag?: string | undefined; digest?: string | undefined }): string => {
    const t = 'tag' in parts ? parts.tag : tag;
    const d = 'digest' in parts ? parts.digest : digest;
    return `${hostName}/${parts.repository ?? repository}${t === undefined ? '' : `:${t}`}${d === undefined ? '' : `@${d}`}`;
  };

  const repositoryProblem = checkRepository(repository);
  if (repositoryProblem !== undefined) {
    const fixed = repositoryProblem.fixed === undefined ? undefined : rebuild({ repository: repositoryProblem.fixed });
    return invalid(repositoryProblem.reason, fixed);
  }
  if (tag !== undefined && !TAG.test(tag)) {
    if (tag === '') return invalid('the tag after ":" is empty', rebuild({ tag: undefined }));
    return invalid(
      `tag "${tag}" is not valid: a tag is 1-128 letters, digits, "_", "." or "-", and does not start with "." or "-"`,
    );
  }
  if (digest !== undefined && !DIGEST.test(digest)) {
    const lower = digest.toLowerCase();
    if (DIGEST.test(lower))
      return invalid(`digest "${digest}" has uppercase hex; digests are lowercase`, rebuild({ digest: lower }));
    return invalid(`digest "${digest}" is not valid: ECR digests are sha256:<64 lowercase hex characters>`);
  }
  return {
    ok: true,
    value: {
      ...host.host,
      repository,
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    },
  };
}

/**
 * Whether `host` is a private ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com` and its
 * FIPS, China and dual-stack forms), as written in an image reference: no scheme, path or port.
 */
export function isEcrHost(host: string): boolean {
  return parseHost(host).ok;
}

/** The region of an ECR registry host (the region its tokens must come from); undefined for other hosts. */
export function ecrHostRegion(host: string): string | undefined {
  const parsed = parseHost(host);
  return parsed.ok ? parsed.host.region : undefined;
}

function parseHost(written: string): HostParse {
  const host = written.toLowerCase();
  const match = LOOSE_HOST.exec(host);
  if (match?.groups === undefined) {
    if (host === 'public.ecr.aws') return notEcr('public.ecr.aws is ECR Public, not a private ECR registry');
    if (/dkr[.-]ecr/.test(host)) {
      return invalid(
        `registry host "${written}" looks like ECR but is not <account>.dkr.ecr.<region>.amazonaws.com[.cn] or <account>.dkr-ecr.<region>.on.aws`,
      );
    }
    return notEcr(`${written === '' ? 'the reference' : written} is not an ECR registry host`);
  }
  const { account = '', service = '', fips, region = '', suffix = '', port } = match.groups;
  const onAws = suffix === 'on.aws';
  const china = suffix === 'amazonaws.com.cn';
  if (port !== undefined) return invalid(`an ECR registry host takes no port (${port})`, host.slice(0, -port.length));
  if (!ACCOUNT.test(account)) {
    return invalid(
      account === '' ? 'the account ID is missing before .dkr' : `account ID "${account}" is not 12 digits`,
    );
  }
  if (!REGION.test(region)) return invalid(`"${region}" is not an AWS region (expected e.g. us-east-1)`);
  if (onAws && service === 'dkr.ecr') {
    return invalid('the dual-stack host under on.aws is dkr-ecr, not dkr.ecr', host.replace('.dkr.ecr', '.dkr-ecr'));
  }
  if (!onAws && service === 'dkr-ecr') {
    return invalid(
      'dkr-ecr is the dual-stack form, which lives under on.aws; under amazonaws.com the host is dkr.ecr',
      host.replace('.dkr-ecr', '.dkr.ecr'),
    );
  }
  const chinaRegion = region.startsWith('cn-');
  if (china && !chinaRegion) return invalid(`an amazonaws.com.cn host must have a cn- region, not ${region}`);
  if (chinaRegion && suffix === 'amazonaws.com')
    return invalid(`${region} registries are under amazonaws.com.cn`, `${host}.cn`);
  if (chinaRegion && onAws) return invalid(`${region} registries are under amazonaws.com.cn, not on.aws`);
  const partitionSuffix: EcrPartitionSuffix = onAws ? 'on.aws' : china ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { ok: true, host: { account, region, fips: fips !== undefined, dualStack: onAws, partitionSuffix, host } };
}

function checkRepository(repository: string): { reason: string; fixed?: string } | undefined {
  if (repository === '') return { reason: 'the repository name is empty' };
  const lower = repository.toLowerCase();
  if (repository !== lower) {
    const fixable = REPOSITORY.test(lower) && lower.length >= REPOSITORY_MIN && lower.length <= REPOSITORY_MAX;
    return {
      reason: `repository "${repository}" has uppercase letters; ECR repository names are lowercase`,
      ...(fixable ? { fixed: lower } : {}),
    };
  }
  if (repository.length < REPOSITORY_MIN || repository.length > REPOSITORY_MAX) {
    const length = `${repository.length} character${repository.length === 1 ? '' : 's'}`;
    return {
      reason: `repository "${repository.length > 40 ? `${repository.slice(0, 40)}…` : repository}" is ${length} long; ECR allows ${REPOSITORY_MIN} to ${REPOSITORY_MAX}`,
    };
  }
  if (REPOSITORY.test(repository)) return undefined;
  const trimmed = repository.replace(/^\/+|\/+$/g, '');
  if (trimmed !== repository && REPOSITORY.test(trimmed))
    return { reason: `repository "${repository}" starts or ends with "/"`, fixed: trimmed };
  if (repository.includes('//'))
    return {
      reason: `repository "${repository}" has an empty path component ("//")`,
      fixed: repository.replace(/\/{2,}/g, '/'),
    };
  return {
    reason: `repository "${repository}" is not valid: path components are lowercase letters and digits, separated by single ".", "_" or "-", and joined by "/"`,
  };
}

function invalid(why: string, suggestion?: string): Extract<EcrUriParseResult, { ok: false }> {
  return { ok: false, kind: 'invalid', reason: why, ...(suggestion === undefined ? {} : { suggestion }) };
}

function notEcr(why: string): Extract<EcrUriParseResult, { ok: false }> {
  return { ok: false, kind: 'not-ecr', reason: why };
}
