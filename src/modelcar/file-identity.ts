/**
 * Which file a model path named when the directory was walked, and in what state. Every later open
 * of it must find the same inode on the same device (so neither the file nor a directory above it
 * was swapped, by a link or a rename) with the same size, mtime and ctime (so it was not written to:
 * mtime is user-settable, ctime is not). The digest cache keys on the same fields.
 */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** Only the identity fields of a `Stats` or a walked entry, so a spread copies no more than them. */
export function fileIdentity(source: FileIdentity): FileIdentity {
  return { dev: source.dev, ino: source.ino, size: source.size, mtimeMs: source.mtimeMs, ctimeMs: source.ctimeMs };
}

/** How `now` differs from what the walk recorded, for a message, or undefined when it is the same file unchanged. */
export function identityDifference(walked: FileIdentity, now: FileIdentity): string | undefined {
  if (now.dev !== walked.dev || now.ino !== walked.ino) return 'it is another file (its device or inode differs)';
  if (now.size !== walked.size) return `it was written to (${now.size} bytes, ${walked.size} when walked)`;
  if (now.mtimeMs !== walked.mtimeMs) return 'it was written to (its mtime changed)';
  if (now.ctimeMs !== walked.ctimeMs) return 'it was written to, or its mode or owner changed (its ctime changed)';
  return undefined;
}
