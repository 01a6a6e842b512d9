import type { Check } from '../src/plugin.ts';
import dockerConfig from './docker-config.ts';
import kanikoDir from './kaniko-dir.ts';
import runtimeUser from './runtime-user.ts';
import scratchSpace from './scratch-space.ts';

/** The built-in checks, in the order they are listed and reported. */
export const builtinChecks: readonly Check[] = [dockerConfig, kanikoDir, runtimeUser, scratchSpace];
