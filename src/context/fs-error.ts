/** A filesystem call failed; `code` is the errno name (`EACCES`, `ENOENT`, `EROFS`, …). */
export class FileSystemError extends Error {
  readonly code: string;
  readonly path: string;

  constructor(code: string, path: string, message: string) {
    super(message);
    this.name = 'FileSystemError';
    this.code = code;
    this.path = path;
  }
}

/** Narrow an unknown error to a FileSystemError, optionally of one code. */
export function isFileSystemError(error: unknown, code?: string): error is FileSystemError {
  return error instanceof FileSystemError && (code === undefined || error.code === code);
}
