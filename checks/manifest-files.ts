import { extname, join } from 'node:path';
import { YAMLError, parseAllDocuments } from 'yaml';
import { type CheckContext, isFileSystemError } from '../src/plugin.ts';

/** A manifest file and its documents as plain data (a document may be null or a scalar). */
export interface ManifestFile {
  readonly path: string;
  readonly documents: readonly unknown[];
}

/** A path that cannot be inspected: missing, unreadable, or not YAML. */
export interface ManifestProblem {
  /** `file` or `file:line`. */
  readonly where: string;
  readonly message: string;
  readonly remediation: string;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Read every manifest under `paths`: files as given, folders walked for .yaml, .yml and .json.
 * Problems are collected instead of thrown, so one bad file does not hide the findings of others.
 */
export async function readManifests(
  ctx: CheckContext,
  paths: readonly string[],
): Promise<{ files: ManifestFile[]; problems: ManifestProblem[] }> {
  const problems: ManifestProblem[] = [];
  const found: string[] = [];
  for (const path of paths) await collect(ctx, path, found, problems);
  const files: ManifestFile[] = [];
  for (const path of [...new Set(found)]) {
    ctx.signal.throwIfAborted();
    const read = await readText(ctx, path);
    if (typeof read !== 'string') {
      problems.push(read);
      continue;
    }
    const parsed = parse(path, read);
    if ('documents' in parsed) files.push(parsed);
    else problems.push(parsed);
  }
  return { files, problems };
}

async function collect(ctx: CheckContext, path: string, found: string[], problems: ManifestProblem[]): Promise<void> {
  ctx.signal.throwIfAborted();
  try {
    const stat = await ctx.fs.stat(path);
    if (stat === undefined) {
      problems.push({
        where: path,
        message: `${path} does not exist`,
        remediation: rerun('an existing file or folder'),
      });
    } else if (stat.kind === 'directory') {
      await walk(ctx, path, found);
    } else {
      found.push(path);
    }
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    problems.push({
      where: path,
      message: `${path} cannot be read: ${error.code}`,
      remediation: rerun('a path this user can read'),
    });
  }
}

async function walk(ctx: CheckContext, dir: string, found: string[]): Promise<void> {
  const entries = [...(await ctx.fs.readDir(dir))].sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    // Dot entries are skipped: a mounted ConfigMap keeps its files twice, as `name` symlinks and in
    // `..data/`, and walking both would report every finding twice.
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.kind === 'directory') await walk(ctx, path, found);
    else if (EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      // Symlinks are followed to files only: a link to a folder can loop.
      const kind = entry.kind === 'symlink' ? (await ctx.fs.stat(path))?.kind : entry.kind;
      if (kind === 'file') found.push(path);
    }
  }
}

async function readText(ctx: CheckContext, path: string): Promise<string | ManifestProblem> {
  try {
    return await ctx.fs.readFile(path);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return {
      where: path,
      message: `${path} cannot be read: ${error.code}`,
      remediation: rerun('a path this user can read'),
    };
  }
}

function parse(path: string, source: string): ManifestFile | ManifestProblem {
  const documents: unknown[] = [];
  for (const document of parseAllDocuments(source)) {
    const [error] = document.errors;
    if (error !== undefined) return syntaxProblem(path, error);
    try {
      const value: unknown = document.toJS();
      documents.push(value);
    } catch (error) {
      // toJS throws ReferenceError for an unknown alias or an alias bomb.
      if (!(error instanceof ReferenceError || error instanceof YAMLError)) throw error;
      return {
        where: path,
        message: `${path} does not load as YAML: ${error.message}`,
        remediation: fixAndRerun(path, 'the aliases'),
      };
    }
  }
  return { path, documents };
}

function syntaxProblem(path: string, error: YAMLError): ManifestProblem {
  const line = error.linePos?.[0].line;
  const where = line === undefined ? path : `${path}:${line}`;
  // The first line of the message without its "at line N, column M:" tail, which `where` already says.
  const what = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '');
  return {
    where,
    message: `${where}: YAML does not parse: ${what}`,
    remediation: fixAndRerun(path, line === undefined ? 'the syntax' : `line ${line}`),
  };
}

function rerun(what: string): string {
  return `Pass ${what} to --manifests:\npreflight check --only pipeline-manifests --manifests <file-or-folder>`;
}

function fixAndRerun(path: string, what: string): string {
  return `Fix ${what} of ${path}, then check it again:\npreflight check --only pipeline-manifests --manifests ${path}`;
}
