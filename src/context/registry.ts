import type { Logger, RegistryInspector } from './types.ts';

const ARCHIVE_SOURCE = /^(oci-archive|oci|docker-archive):/;

/**
 * The registry view a check gets. Nothing is imported until a check asks, so a run that inspects
 * no image never loads the registry client.
 */
export function lazyRegistryInspector(input: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
}): RegistryInspector {
  return {
    async platforms(image, signal) {
      if (ARCHIVE_SOURCE.test(image)) {
        const { sourcePlatforms } = await import('../image/platforms.ts');
        return sourcePlatforms(image, signal);
      }
      const { registryPlatforms } = await import('../registry/inspect.ts');
      return registryPlatforms(image, { env: input.env, log: input.log, signal });
    },
    async files(image, platform, signal) {
      if (ARCHIVE_SOURCE.test(image)) {
        const { archiveImageFiles } = await import('../image/archive-files.ts');
        return archiveImageFiles(image, platform, signal);
      }
      const { registryImageFiles } = await import('../registry/image-files.ts');
      return registryImageFiles(image, platform, { env: input.env, log: input.log, signal });
    },
  };
}
