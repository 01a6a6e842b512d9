import { defineCheck, fail, pass, skip } from '../src/plugin.ts';
import { cannotRead, LOGIN_AGAIN, NO_NAMESPACE } from './aws-common.ts';
import { namespaceOf } from './kube-common.ts';

export default defineCheck({
  id: 'hf-token',
  title: 'A gated model has its Hugging Face token Secret',
  scope: 'laptop',
  inspects: 'with --gated-model: Secret --hf-secret-name (default hf-hub-secret) and its HF_TOKEN key in the namespace',
  appliesTo: (ctx) =>
    !ctx.options.gatedModel
      ? 'the model is not gated (pass --gated-model or set gatedModel: true when it is)'
      : namespaceOf(ctx) === undefined
        ? NO_NAMESPACE
        : true,
  async run(ctx) {
    const namespace = namespaceOf(ctx);
    if (namespace === undefined) return skip(NO_NAMESPACE);
    const { hfSecretName: name, hfSecretKey: key } = ctx.options;
    const create = `printf %s "$HF_TOKEN" | oc create secret generic ${name} -n ${namespace} --from-file=${key}=/dev/stdin`;
    let secret;
    try {
      secret = await ctx.kube.secret(namespace, name);
    } catch (error) {
      return cannotRead(ctx, error, `cannot read Secret ${namespace}/${name}`, LOGIN_AGAIN);
    }
    if (secret === undefined)
      return fail(`Secret ${namespace}/${name} does not exist: downloading the gated model fails with 401`, {
        remediation: `Create it from your token (never on the command line):\n${create}`,
      });
    if ((secret.data[key] ?? '').trim() === '')
      return fail(
        `Secret ${namespace}/${name} has no ${key} key (keys: ${Object.keys(secret.data).join(', ') || 'none'})`,
        {
          remediation: `Recreate it with the key the pipeline reads:\noc delete secret ${name} -n ${namespace}\n${create}`,
        },
      );
    return pass(`Secret ${namespace}/${name} holds ${key}`);
  },
});
