import { defineCheck, fail, pass, skip, warn } from '../src/plugin.ts';
import { appliesToEcr, cannotRead, ecrTarget } from './aws-common.ts';

export default defineCheck({
  id: 'ecr-repository',
  title: 'The ECR repository exists and accepts the tag',
  scope: 'any',
  inspects: 'ecr:DescribeRepositories (and DescribeImages for the tag): existence and imageTagMutability',
  appliesTo: appliesToEcr,
  async run(ctx) {
    const target = ecrTarget(ctx);
    if (typeof target === 'string') return skip(target);
    let info;
    try {
      info = await ctx.aws.describeRepository({
        account: target.account,
        region: target.region,
        name: target.repository,
        ...(target.tag === undefined ? {} : { tag: target.tag }),
      });
    } catch (error) {
      return cannotRead(
        ctx,
        error,
        'cannot describe the repository',
        'Allow ecr:DescribeRepositories and ecr:DescribeImages on the repository, or fix the aws-credentials check first.',
      );
    }
    const create = `aws ecr create-repository --repository-name ${target.repository} --region ${target.region} --image-tag-mutability MUTABLE`;
    if (info === undefined) {
      return fail(
        `repository ${target.repository} does not exist in account ${target.account} (${target.region}); ECR does not answer a push to it with 404, it drops the connection ("connection reset by peer", "broken pipe", Kaniko retrying)`,
        {
          remediation: `Create it (or fix the name in ECR_URI):\n${create}`,
        },
      );
    }
    if (info.imageTagMutability.startsWith('IMMUTABLE')) {
      const tag = target.tag ?? 'latest';
      const fix = `Push each run under a new tag (e.g. the pipeline run id or model version), or make the repository mutable:\naws ecr put-image-tag-mutability --repository-name ${target.repository} --region ${target.region} --image-tag-mutability MUTABLE`;
      if (info.tagExists === true)
        return fail(
          `tag ${tag} already exists in the IMMUTABLE repository ${target.repository}: the push fails with ImageTagAlreadyExistsException`,
          { remediation: fix },
        );
      return warn(
        `${target.repository} has immutable tags: this push of ${tag} works once, and a re-run with the same tag fails with ImageTagAlreadyExistsException`,
        { remediation: fix },
      );
    }
    return pass(
      `repository ${info.uri === '' ? target.repository : info.uri} exists (tags ${info.imageTagMutability.toLowerCase()})`,
    );
  },
});
