import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ecr } from './ecr.ts';
import { iam, IAM_NAMESPACE } from './iam.ts';
import { type Answer, AwsError, jsonError, xmlError } from './protocols.ts';
import { type Verification, verifySigV4 } from './sigv4.ts';
import { AwsState, type Identity } from './state.ts';
import { sts, STS_NAMESPACE } from './sts.ts';

export interface AwsEmulator {
  /** `http://127.0.0.1:PORT`: the endpoint for every service. */
  readonly url: string;
  readonly state: AwsState;
  /** Env that points the SDK (and a spawned CLI) at the emulator with `identity`'s credentials. */
  env(identity: Identity, region?: string): Record<string, string>;
  close(): Promise<void>;
}

/**
 * One loopback HTTP server speaking ECR (JSON 1.1), STS and IAM (query/XML) as the real SDK clients
 * send them: every request must carry a valid SigV4 signature from credentials the emulator issued,
 * session credentials need their token and expire on the emulator's clock, and faults (throttling,
 * 5xx) can be injected per operation.
 */
export async function startAwsEmulator(): Promise<AwsEmulator> {
  const state = new AwsState();
  const server: Server = createServer(awsRequestHandler(state));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    state,
    env: (identity, region = 'eu-west-1') => ({
      AWS_ACCESS_KEY_ID: identity.accessKeyId,
      AWS_SECRET_ACCESS_KEY: identity.secretAccessKey,
      ...(identity.sessionToken === undefined ? {} : { AWS_SESSION_TOKEN: identity.sessionToken }),
      AWS_REGION: region,
      AWS_ENDPOINT_URL: url,
      // No shared config or EC2 metadata from the machine running the tests.
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The emulator's request handler, for a server of the caller's own (HTTPS on a unix socket in the ECR world). */
export function awsRequestHandler(state: AwsState): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // Nothing a client sends may stop the double: a fault of the emulator itself is a 500 for that request.
    handle(state, req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else respond(res, state, jsonError(new AwsError(500, 'InternalFailure', String(error))));
    });
  };
}

async function handle(state: AwsState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const body = Buffer.concat(chunks);
  const target = typeof req.headers['x-amz-target'] === 'string' ? req.headers['x-amz-target'] : undefined;
  const params = new URLSearchParams(target === undefined ? body.toString('utf8') : '');
  const operation = target?.split('.').pop() ?? params.get('Action') ?? 'unknown';
  let answer: Answer;
  let accessKeyId: string | undefined;
  let service = 'unknown';
  try {
    const verified = verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      (id) => state.identities.get(id)?.secretAccessKey,
      state.now(),
    );
    accessKeyId = verified.accessKeyId;
    if (!verified.ok) throw signatureError(verified.code, verified.message, target !== undefined);
    service = verified.service;
    const caller = authenticate(state, verified.accessKeyId, req, target !== undefined);
    const fault = state.takeFault(operation);
    if (fault !== undefined) throw new AwsError(fault.status, fault.code, fault.message);
    if (service === 'sts') answer = sts(state, caller, params);
    else if (service === 'iam') answer = iam(state, caller, params);
    else if (service === 'ecr' && target !== undefined)
      answer = ecr(state, caller, operation, parseJson(body), verified.region);
    else throw new AwsError(400, 'UnknownService', `the emulator does not serve ${service}`);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    answer =
      target === undefined ? xmlError(error, service === 'iam' ? IAM_NAMESPACE : STS_NAMESPACE) : jsonError(error);
  }
  state.calls.push({ operation, accessKeyId, status: answer.status });
  respond(res, state, answer);
}

function respond(res: ServerResponse, state: AwsState, answer: Answer): void {
  // Date on the emulator's clock: the SDK corrects its clock skew from this header, as it does against AWS.
  res.writeHead(answer.status, {
    ...answer.headers,
    date: state.now().toUTCString(),
    'content-length': String(Buffer.byteLength(answer.body)),
  });
  res.end(answer.body);
}

/**
 * A failed signature check in the protocol's words. The query protocol (STS, IAM) answers 403
 * SignatureDoesNotMatch, also for a signature outside the 15-minute window
 * (github.com/aws/aws-cli/issues/6676); JSON services (ECR) answer 400 InvalidSignatureException for
 * an expired signature (github.com/upmc-enterprises/registry-creds/issues/47: "status code: 400");
 * a wrong signature stays 403 as before.
 */
function signatureError(code: Extract<Verification, { ok: false }>['code'], message: string, json: boolean): AwsError {
  if (code === 'SignatureExpired')
    return json
      ? new AwsError(400, 'InvalidSignatureException', message)
      : new AwsError(403, 'SignatureDoesNotMatch', message);
  const status = code === 'InvalidClientTokenId' || code === 'SignatureDoesNotMatch' ? 403 : 400;
  return new AwsError(status, json ? jsonCode(code) : code, message);
}

/** The identity behind a verified key: session credentials need their token and must not have expired. */
function authenticate(state: AwsState, accessKeyId: string, req: IncomingMessage, json: boolean): Identity {
  const identity = state.identities.get(accessKeyId);
  if (identity === undefined)
    throw new AwsError(
      403,
      json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    );
  if (identity.sessionToken !== undefined && req.headers['x-amz-security-token'] !== identity.sessionToken) {
    throw new AwsError(
      403,
      json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
      'The security token included in the request is invalid.',
    );
  }
  if (identity.expiresAt !== undefined && identity.expiresAt.getTime() <= state.now().getTime()) {
    throw new AwsError(
      400,
      json ? 'ExpiredTokenException' : 'ExpiredToken',
      'The security token included in the request is expired',
    );
  }
  return identity;
}

function jsonCode(code: string): string {
  return code === 'InvalidClientTokenId'
    ? 'UnrecognizedClientException'
    : code === 'SignatureDoesNotMatch'
      ? 'InvalidSignatureException'
      : code;
}

/**
 * A JSON 1.1 body must be one object. Anything else is 400 SerializationException for that request,
 * named as AWS's Coral framework names it (`{"__type":"com.amazon.coral.service#SerializationException"}`:
 * github.com/amazon-archives/aws-sdk-unity/issues/54; "Start of structure or map found where not
 * expected." for a wrong JSON type: github.com/mhart/kinesalite/issues/101).
 */
function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AwsError(400, SERIALIZATION, error instanceof Error ? error.message : 'malformed JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AwsError(400, SERIALIZATION, 'Start of structure or map found where not expected.');
  return Object.fromEntries(Object.entries(parsed));
}

const SERIALIZATION = 'com.amazon.coral.service#SerializationException';
