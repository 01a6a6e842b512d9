import { AwsCredentialError, PreflightError } from '../errors.ts';
import type { AwsCredentials } from './clients.ts';

// Declared with every other error class in src/errors.ts (one table of codes).
export { AwsCredentialError };

/**
 * Credentials from the SDK's own chain: env keys, `--aws-profile` / AWS_PROFILE (SSO and
 * sso-session profiles included), web identity for IRSA in a pod, container and instance metadata.
 * The SDK is imported only here and only when called. Failures become one line with the fix.
 */
export async function resolveCredentials(options: {
  readonly profile?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<AwsCredentials> {
  const { fromIni, fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const profile = options.profile ?? (options.env.AWS_PROFILE === '' ? undefined : options.env.AWS_PROFILE);
  const provider = profile === undefined ? fromNodeProviderChain() : fromIni({ profile });
  try {
    return await provider();
  } catch (error) {
    throw explain(error, profile);
  }
}

/** Turn the SDK's provider errors into what the user should do. */
export function explain(error: unknown, profile: string | undefined): PreflightError {
  const message = error instanceof Error ? error.message : String(error);
  const login = `aws sso login${profile === undefined ? '' : ` --profile ${profile}`}`;
  if (/sso|token.*expired|expired.*token|refresh/i.test(message)) {
    return new AwsCredentialError(
      `the AWS SSO session${profile === undefined ? '' : ` of profile ${profile}`} has expired or was never started`,
      { hint: `run ${login}, then try again` },
    );
  }
  if (/could not load credentials|no credentials|unable to locate/i.test(message)) {
    return new AwsCredentialError('no AWS credentials found (env keys, AWS_PROFILE, web identity, metadata)', {
      hint: `run ${login} and export AWS_PROFILE, or in a pod wire IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)`,
    });
  }
  if (/profile .* (could not be found|not found)/i.test(message)) {
    return new AwsCredentialError(`AWS profile ${profile ?? ''} is not in ~/.aws/config`, {
      hint: 'aws configure sso --profile NAME, or check AWS_PROFILE',
    });
  }
  return new AwsCredentialError(`AWS credentials could not be resolved: ${message.split('\n')[0] ?? message}`, {
    hint: `check AWS_PROFILE and run ${login}`,
  });
}
