import { createNodeFileSystem } from '../../src/context/node-fs.ts';
import type { CheckContext, CheckOptions } from '../../src/plugin.ts';

/** Overrides for {@link fakeContext}; `options` merge over defaults. */
export type FakeContextInput = Partial<Omit<CheckContext, 'options'>> & { options?: Partial<CheckOptions> };

/**
 * A context for check unit tests: real fs (point it at a temp dir) unless one is given, a uid
 * that is not root, a fixed clock and an empty env, so nothing leaks in from the test machine.
 */
export function fakeContext(input: FakeContextInput = {}): CheckContext {
  const { options, ...rest } = input;
  return {
    env: {},
    scope: 'laptop',
    fs: createNodeFileSystem(),
    user: { uid: 1000770000, gid: 0, groups: [0] },
    host: { platform: 'linux', arch: 'x64' },
    clock: { now: () => new Date('2026-11-23T12:00:00Z') },
    signal: new AbortController().signal,
    log: { debug: () => undefined },
    registry: {
      platforms: (image) => Promise.reject(new Error(`fake context: no registry for ${image}`)),
      files: (image) => Promise.reject(new Error(`fake context: no registry for ${image}`)),
    },
    aws: {
      identity: none('AWS'),
      identityOf: none('AWS'),
      simulate: none('AWS'),
      probeEcr: none('AWS'),
      describeRepository: none('AWS'),
      ecrLogin: none('AWS'),
    },
    kube: {
      target: none('Kubernetes'),
      secret: none('Kubernetes'),
      serviceAccount: none('Kubernetes'),
      nodes: none('Kubernetes'),
      canI: none('Kubernetes'),
      whoAmI: none('Kubernetes'),
      reviewToken: none('Kubernetes'),
    },
    ...rest,
    options: {
      manifests: [],
      images: [],
      platform: 'linux/amd64',
      hasKfpToken: false,
      serviceAccount: 'pipeline-runner',
      secretName: 'aws-ecr-credentials',
      minValidityMs: 3 * 3600_000,
      gatedModel: false,
      hfSecretName: 'hf-hub-secret',
      hfSecretKey: 'HF_TOKEN',
      ...options,
    },
  };
}

/** A method that rejects: a check unit test that reaches for AWS or Kubernetes without a fake fails loudly. */
function none(what: string): () => Promise<never> {
  return () => Promise.reject(new Error(`fake context: no ${what}`));
}
