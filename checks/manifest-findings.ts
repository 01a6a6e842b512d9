import { type Build, imageCommands } from './image-commands.ts';
import type { ContainerSite } from './manifest-containers.ts';

/** What the manifests get wrong (fail, warn), or worth knowing (note: never changes the status). */
export interface Finding {
  readonly level: 'fail' | 'warn' | 'note';
  /** Names the file and the YAML path of the container. */
  readonly message: string;
  readonly remediation?: string;
}

/**
 * Cross-reference the containers of all manifests: images the pipeline pushes and then runs from a
 * node's cache, `securityContext` in KFP IR, and builds that leave the platform to the node.
 */
export function findings(sites: readonly ContainerSite[], platform: string): Finding[] {
  const analysed = sites.map((site) => ({ site, commands: imageCommands(site) }));
  const pushers = new Map<string, ContainerSite[]>();
  for (const { site, commands } of analysed) {
    for (const reference of commands.pushes) pushers.set(reference, [...(pushers.get(reference) ?? []), site]);
  }
  return analysed.flatMap(({ site, commands }) => {
    const found: Finding[] = [];
    if (site.platform === 'kfp' && site.securityContext !== undefined)
      found.push(kfpSecurityContext(site, site.securityContext));
    const image = site.image === undefined ? undefined : site.image.replace(/^docker:\/\//, '');
    const pusher = image === undefined ? undefined : pushers.get(image)?.find((other) => other !== site);
    if (image !== undefined && pusher !== undefined && servedStale(image, site.imagePullPolicy))
      found.push(staleImage(site, image, pusher));
    for (const build of commands.builds) {
      if (!build.platformHint) found.push(unpinnedBuild(site, build, platform));
    }
    return found;
  });
}

function where(site: ContainerSite): string {
  return `${site.file}#${site.path}`;
}

/**
 * Whether the kubelet may start a node's cached copy. Kubernetes defaults imagePullPolicy to Always
 * only for `:latest` or no tag, which a `$(params.x)` or `{{…}}` expression does not tell.
 */
function servedStale(image: string, policy: string | undefined): boolean {
  if (policy === 'Always' || image.includes('@sha256:')) return false;
  if (policy !== undefined || /\$\(|\$\{|\{\{/.test(image)) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 && last.slice(colon + 1) !== 'latest';
}

function staleImage(site: ContainerSite, image: string, pusher: ContainerSite): Finding {
  const policy =
    site.imagePullPolicy === undefined
      ? 'no imagePullPolicy (IfNotPresent for a tag)'
      : `imagePullPolicy: ${site.imagePullPolicy}`;
  const byDigest = 'or run it by digest (image: <repository>@sha256:<digest>, the digest the push wrote).';
  const remediation =
    site.platform === 'kfp'
      ? `Make the kubelet pull it on every run, with kfp-kubernetes on that task:\nfrom kfp import kubernetes\nkubernetes.set_image_pull_policy(task, 'Always')\n${byDigest}`
      : `Make the kubelet pull it on every run, on ${site.label} (${where(site)}):\nimagePullPolicy: Always\n${byDigest}`;
  return {
    level: 'warn',
    message:
      `${site.label} (${where(site)}) runs ${image} by tag with ${policy}, and ${pusher.label} (${where(pusher)}) pushes that tag: ` +
      'a node that pulled it before runs its stale cached image',
    remediation,
  };
}

function kfpSecurityContext(site: ContainerSite, context: Readonly<Record<string, unknown>>): Finding {
  const ids = [
    typeof context.runAsUser === 'number' ? `run_as_user=${context.runAsUser}` : undefined,
    typeof context.runAsGroup === 'number' ? `run_as_group=${context.runAsGroup}` : undefined,
  ].filter((id) => id !== undefined);
  const pin =
    ids.length > 0
      ? `To pin the ids, set them per task with kfp-kubernetes (a release that has set_security_context):\nfrom kfp import kubernetes\nkubernetes.set_security_context(task, ${ids.join(', ')})`
      : 'To pin runAsUser/runAsGroup, use kfp-kubernetes on the task: kubernetes.set_security_context(task, run_as_user=…, run_as_group=…).';
  return {
    level: 'fail',
    message: `${site.label} (${where(site)}) sets securityContext, a field KFP v2 pipeline IR does not have: the upload fails with unknown field "securityContext"`,
    remediation: [
      'Remove securityContext from the component; on OpenShift the restricted SCC already gives the pod a uid and an fsGroup from the namespace range.',
      pin,
      'fsGroup cannot be set per task: give the step a writable mount instead, e.g. kubernetes.empty_dir_mount(task, volume_name="scratch", mount_path="/scratch").',
    ].join('\n'),
  };
}

function unpinnedBuild(site: ContainerSite, build: Build, platform: string): Finding {
  const flag = build.tool === 'kaniko' ? '--custom-platform' : '--platform';
  return {
    level: 'note',
    message: `${site.label} (${where(site)}) builds with ${build.tool} without ${flag}: the image is built for the node's architecture, which may not be ${platform}; add ${flag}=${platform}`,
  };
}
