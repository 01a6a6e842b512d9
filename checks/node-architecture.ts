import { defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { describeError } from './aws-common.ts';

const ARCH_LABEL = 'kubernetes.io/arch';

export default defineCheck({
  id: 'node-architecture',
  title: "The cluster has nodes of the images' architecture",
  scope: 'any',
  inspects: 'the kubernetes.io/arch label of every node against --platform and the platforms of each --image',
  appliesTo: (ctx) =>
    (ctx.options.namespace ?? '') !== '' || ctx.options.kubeContext !== undefined
      ? true
      : 'no cluster targeted: set DS_PROJECT / --namespace or --context',
  async run(ctx) {
    let nodes;
    try {
      nodes = await ctx.kube.nodes();
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const { message } = describeError(error);
      // Project users on OpenShift usually may not list nodes; that is not a problem of the pipeline.
      return skip(`cannot list the cluster's nodes: ${message}`);
    }
    const arches = new Map<string, number>();
    for (const node of nodes) {
      const arch = node.labels[ARCH_LABEL] ?? 'unknown';
      arches.set(arch, (arches.get(arch) ?? 0) + 1);
    }
    if (arches.size === 0) return skip('the cluster reports no nodes');
    const target = ctx.options.platform.split('/')[1] ?? ctx.options.platform;
    const imageArches = new Set([target]);
    for (const image of ctx.options.images) {
      const platforms = await ctx.registry.platforms(image, ctx.signal).catch(() => undefined);
      if (
        platforms !== undefined &&
        platforms.platforms.length > 0 &&
        !platforms.platforms.some((p) => p.split('/')[1] === target)
      ) {
        for (const p of platforms.platforms) imageArches.add(p.split('/')[1] ?? p);
      }
    }
    const summary = [...arches].map(([arch, count]) => `${count} ${arch}`).join(', ');
    const runnable = [...imageArches].filter((arch) => arches.has(arch));
    if (runnable.length === 0) {
      return fail(
        `no node runs ${[...imageArches].join(' or ')} (nodes: ${summary}): pods of these images fail with "exec format error"`,
        {
          remediation: `Build for the nodes' architecture:\npreflight modelcar build --platform linux/${[...arches.keys()][0] ?? 'amd64'} …   (or podman build --platform linux/${[...arches.keys()][0] ?? 'amd64'})`,
        },
      );
    }
    if (arches.size > 1) {
      return warn(`the cluster mixes architectures (${summary}): a pod may land on a node that cannot run ${target}`, {
        remediation: `Pin the pipeline steps to ${target} nodes:\nspec:\n  nodeSelector:\n    kubernetes.io/arch: ${target}\n(or push a multi-platform image: --platform ${[...arches.keys()].map((a) => `linux/${a}`).join(',')})`,
      });
    }
    return pass(`all nodes are ${target} (${summary})`);
  },
});
