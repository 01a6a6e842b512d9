import { AwsError, PreflightError } from '../errors.ts';
import { AwsCredentialError } from './credentials.ts';

/**
 * An AWS SDK service error as one line with the fix. Only the error's name and message are used
 * (AWS messages carry ARNs and actions, never credentials); anything unknown keeps its message.
 */
export function explainAwsError(error: unknown, action: string, profile: string | undefined): PreflightError {
  if (error instanceof PreflightError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  const login = `aws sso login${profile === undefined ? '' : ` --profile ${profile}`}`;
  if (
    name === 'ExpiredToken' ||
    name === 'ExpiredTokenException' ||
    /security token included in the request is expired/i.test(message)
  ) {
    return new AwsCredentialError(`${action}: the AWS credentials have expired`, {
      hint: `run ${login} (or mint fresh credentials), then try again`,
    });
  }
  if (
    name === 'InvalidClientTokenId' ||
    name === 'UnrecognizedClientException' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'InvalidSignatureException'
  ) {
    return new AwsCredentialError(`${action}: AWS rejected the credentials (${name})`, {
      hint: `the keys are wrong or were deleted: run ${login}, or check AWS_ACCESS_KEY_ID / AWS_PROFILE`,
    });
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || /not authorized to perform/i.test(message)) {
    return new AwsError(`${action}: ${message}`, {
      hint: 'grant the action named above to the identity in IAM (for AssumeRole: the role trust policy must allow the caller)',
    });
  }
  if (name === 'ThrottlingException' || name === 'Throttling' || /rate exceeded/i.test(message)) {
    return new AwsError(`${action}: AWS is throttling the requests (${name}) and retries ran out`, {
      hint: 'try again in a minute',
    });
  }
  const code = typeof error === 'object' && error !== null && '$metadata' in error ? ` (${name})` : '';
  return new AwsError(`${action}: ${message}${code}`);
}
