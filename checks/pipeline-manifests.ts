import { type CheckResult, defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { containerSites } from './manifest-containers.ts';
import { type Finding, findings } from './manifest-findings.ts';
import { readManifests } from './manifest-files.ts';

const NO_MANIFESTS = 'no --manifests given';
const RANK: Readonly<Record<Finding['level'], number>> = { fail: 0, warn: 1, note: 2 };

export default defineCheck({
  id: 'pipeline-manifests',
  title: 'Pipeline manifests run fresh images and upload cleanly',
  scope: 'any',
  inspects:
    'Tekton, KFP v2 IR and Pod/Job/CronJob/Deployment YAML from --manifests: images the pipeline pushes then runs by tag without imagePullPolicy: Always, securityContext in KFP components, builds without a platform',
  appliesTo: (ctx) => (ctx.options.manifests.length === 0 ? NO_MANIFESTS : true),
  async run(ctx) {
    if (ctx.options.manifests.length === 0) return skip(NO_MANIFESTS);
    const { files, problems } = await readManifests(ctx, ctx.options.manifests);
    const sites = files.flatMap((file) => containerSites(file.path, file.documents));
    const found: Finding[] = [
      ...problems.map((problem): Finding => ({
        level: 'fail',
        message: problem.message,
        remediation: problem.remediation,
      })),
      ...findings(sites, ctx.options.platform),
    ];
    if (found.length === 0 && sites.length === 0) {
      return skip(`no Tekton, KFP or Kubernetes workload containers in ${count(files.length, 'manifest file')}`);
    }
    return verdict(found, `${count(sites.length, 'container')} in ${count(files.length, 'file')}`);
  },
});

/** The worst finding sets the status; every finding is listed in the details, worst first. */
function verdict(found: readonly Finding[], inspected: string): CheckResult {
  const ranked = [...found].sort((a, b) => RANK[a.level] - RANK[b.level]);
  const details = ranked.map((finding) => `${finding.level}: ${finding.message}`);
  const problems = ranked.filter((finding) => finding.level !== 'note');
  const [first] = problems;
  if (first === undefined)
    return pass(
      `${inspected}: no pushed image run from a stale node cache, no securityContext in KFP components`,
      details.length > 0 ? { details } : {},
    );
  const more = problems.length > 1 ? ` (and ${count(problems.length - 1, 'more finding')}, see details)` : '';
  const worst = problems.filter((finding) => finding.level === first.level);
  const remediation = [...new Set(worst.map((finding) => finding.remediation ?? ''))]
    .filter((text) => text !== '')
    .join('\n\n');
  const message = `${first.message}${more}`;
  return first.level === 'fail' ? fail(message, { remediation, details }) : warn(message, { remediation, details });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
