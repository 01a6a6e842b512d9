import { createReadStream } from 'node:fs';
import { diagnose, type Finding } from '../diagnose/match.ts';
import { ConfigError } from '../errors.ts';

export interface DiagnoseInput {
  /** The log file; without it, `stdin`. */
  readonly file: string | undefined;
  readonly stdin: NodeJS.ReadableStream | undefined;
}

export interface DiagnoseResult {
  readonly source: string;
  readonly lines: number;
  readonly findings: readonly Finding[];
}

/** `preflight diagnose`: the known failures in a pipeline log, with cause and fix. */
export async function diagnoseLog(input: DiagnoseInput): Promise<DiagnoseResult> {
  const { file } = input;
  let stream: NodeJS.ReadableStream;
  if (file === undefined) {
    if (input.stdin === undefined)
      throw new ConfigError('no log: standard input is not available', { hint: 'pass --file LOG' });
    stream = input.stdin;
  } else {
    const fileStream = createReadStream(file);
    // An open error is one line before any output, not a stream error halfway through.
    await new Promise<void>((resolve, reject) => {
      fileStream.once('open', () => {
        resolve();
      });
      fileStream.once('error', reject);
    }).catch((error: unknown) => {
      throw new ConfigError(`cannot read --file ${file}: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'pass a readable log file, or pipe the log to standard input',
      });
    });
    stream = fileStream;
  }
  const result = await diagnose(stream);
  return { source: file ?? 'standard input', lines: result.lines, findings: result.findings };
}
