import type { PolicyDecision } from '../context/types.ts';
import { type AwsSettings, clientConfig } from './clients.ts';

/**
 * `iam:SimulatePrincipalPolicy` for a role or user ARN over actions and resources, every page.
 * AccessDenied on the simulation itself is an answer, not an error: the caller may push without
 * being allowed to ask IAM about it, and the check then falls back to probes.
 */
export async function simulatePrincipal(
  settings: AwsSettings,
  input: {
    readonly principalArn: string;
    readonly actions: readonly string[];
    readonly resourceArns: readonly string[];
  },
): Promise<readonly PolicyDecision[] | { readonly denied: string }> {
  const { IAMClient, SimulatePrincipalPolicyCommand } = await import('@aws-sdk/client-iam');
  const client = new IAMClient(clientConfig(settings, 'IAM'));
  const out: PolicyDecision[] = [];
  try {
    let marker: string | undefined;
    do {
      const page = await client.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: input.principalArn,
          ActionNames: [...input.actions],
          ResourceArns: [...input.resourceArns],
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      for (const r of page.EvaluationResults ?? []) {
        const decision =
          r.EvalDecision === 'allowed' || r.EvalDecision === 'explicitDeny' ? r.EvalDecision : 'implicitDeny';
        out.push({ action: r.EvalActionName ?? '', resource: r.EvalResourceName ?? '*', decision });
      }
      marker = page.IsTruncated === true ? page.Marker : undefined;
    } while (marker !== undefined);
    return out;
  } catch (error) {
    if (error instanceof Error && (error.name === 'AccessDenied' || error.name === 'AccessDeniedException'))
      return { denied: error.message.split('\n')[0] ?? error.message };
    throw error;
  } finally {
    client.destroy();
  }
}
