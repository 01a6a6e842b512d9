import type { Check } from '../src/plugin.ts';

/** The built-in checks, in the order they are listed and reported. */
export const builtinChecks: readonly Check[] = [];
