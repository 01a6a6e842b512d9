import { createNodeFileSystem } from './node-fs.ts';
import type { CheckContext, CheckOptions, Logger } from './types.ts';
import { lazyAwsAccess } from './aws.ts';
import { lazyKubeAccess } from './kube.ts';
import { lazyRegistryInspector } from './registry.ts';
import { currentUser } from './user.ts';

/** What the CLI knows when it builds the shared context of a run. */
export interface ContextInput {
  readonly options: CheckOptions;
  readonly scope: 'laptop' | 'pod';
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** The real context: node fs, the process identity, the wall clock. Probed once per run. */
export function createContext(input: ContextInput): CheckContext {
  return {
    ...input,
    env: Object.freeze({ ...input.env }),
    fs: createNodeFileSystem(),
    user: currentUser(),
    host: { platform: process.platform, arch: process.arch },
    clock: { now: () => new Date() },
    registry: lazyRegistryInspector({ env: input.env, log: input.log }),
    aws: lazyAwsAccess({ env: input.env, options: input.options, log: input.log }),
    kube: lazyKubeAccess({ env: input.env, context: input.options.kubeContext, log: input.log }),
  };
}
