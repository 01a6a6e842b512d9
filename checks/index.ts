import type { Check } from '../src/plugin.ts';
import dockerConfig from './docker-config.ts';
import ecrUri from './ecr-uri.ts';
import imageArchitecture from './image-architecture.ts';
import kanikoDir from './kaniko-dir.ts';
import modelcarContract from './modelcar-contract.ts';
import pipelineManifests from './pipeline-manifests.ts';
import runtimeUser from './runtime-user.ts';
import scratchSpace from './scratch-space.ts';

/** The built-in checks, in the order they are listed and reported. */
export const builtinChecks: readonly Check[] = [ecrUri, dockerConfig, kanikoDir, runtimeUser, scratchSpace, pipelineManifests, imageArchitecture, modelcarContract];
