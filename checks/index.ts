import type { Check } from '../src/plugin.ts';
import awsCredentials from './aws-credentials.ts';
import credentialsSecret from './credentials-secret.ts';
import dockerConfig from './docker-config.ts';
import ecrLogin from './ecr-login.ts';
import ecrPermissions from './ecr-permissions.ts';
import ecrRepository from './ecr-repository.ts';
import ecrUri from './ecr-uri.ts';
import hfToken from './hf-token.ts';
import imageArchitecture from './image-architecture.ts';
import irsa from './irsa.ts';
import kanikoDir from './kaniko-dir.ts';
import kfpToken from './kfp-token.ts';
import modelcarContract from './modelcar-contract.ts';
import nodeArchitecture from './node-architecture.ts';
import pipelineManifests from './pipeline-manifests.ts';
import runtimeUser from './runtime-user.ts';
import scratchSpace from './scratch-space.ts';
import secretRbac from './secret-rbac.ts';

/** The built-in checks, in the order they are listed and reported. */
export const builtinChecks: readonly Check[] = [
  ecrUri,
  awsCredentials,
  ecrRepository,
  ecrPermissions,
  ecrLogin,
  irsa,
  credentialsSecret,
  secretRbac,
  dockerConfig,
  kanikoDir,
  runtimeUser,
  scratchSpace,
  pipelineManifests,
  imageArchitecture,
  nodeArchitecture,
  modelcarContract,
  kfpToken,
  hfToken,
];
