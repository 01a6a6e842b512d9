import type { IncomingMessage } from 'node:http';
import type { AwsState } from '../aws/state.ts';
import { type Answer, notAuthorized, registryError } from './answers.ts';

/** The registry a request is addressed to. */
export interface Target {
  readonly host: string;
  readonly account: string;
  readonly region: string;
}

/** Whose token signed a request. */
export interface Caller {
  readonly arn: string;
}

const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?::\d+)?$/;

/** The account and region from `<account>.dkr.ecr.<region>.amazonaws.com`, else the defaults. */
export function targetOf(
  req: IncomingMessage,
  defaults: { account: string | undefined; region: string },
): Target | undefined {
  const host = req.headers.host ?? '';
  const match = ECR_HOST.exec(host);
  if (match?.[1] !== undefined && match[2] !== undefined) return { host, account: match[1], region: match[2] };
  return defaults.account === undefined ? undefined : { host, account: defaults.account, region: defaults.region };
}

/**
 * ECR's registry takes only Basic `AWS:<password>` with a password GetAuthorizationToken issued for
 * the host's account: anything else is 401 `Not Authorized` with a Basic challenge, an expired
 * password is 403 DENIED.
 */
export function authenticate(state: AwsState, req: IncomingMessage, target: Target): Caller | Answer {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  const token = decoded.slice(0, separator) === 'AWS' ? state.ecrTokens.get(decoded.slice(separator + 1)) : undefined;
  if (token === undefined || token.account !== target.account) return notAuthorized(target.host);
  if (token.expiresAt.getTime() <= state.now().getTime())
    return registryError(403, 'DENIED', 'Your authorization token has expired. Reauthenticate and try again.');
  return { arn: token.arn };
}

/** The IAM decision for `action` on `repository`, taken from `state.decide` as the ECR API does. */
export function permit(
  state: AwsState,
  caller: Caller,
  target: Target,
  action: string,
  repository: string,
): Answer | undefined {
  const decision = state.decide(action);
  if (decision === 'allowed') return undefined;
  const resource = `arn:aws:ecr:${target.region}:${target.account}:repository/${repository}`;
  const why =
    decision === 'explicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  return registryError(
    403,
    'DENIED',
    `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} ${why}`,
  );
}
