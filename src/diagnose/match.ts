import { createInterface } from 'node:readline';
import { CATALOGUE, type KnownFailure } from './catalogue.ts';

/** One recognised failure: where it first showed, how often, and the line as evidence. */
export interface Finding {
  readonly id: string;
  readonly title: string;
  readonly cause: string;
  readonly fix: string;
  /** 1-based line number of the first match. */
  readonly line: number;
  readonly count: number;
  /** The first matching line, trimmed and cut to 500 characters. */
  readonly evidence: string;
}

/** Colour codes of coloured logs (Tekton dashboards, kubectl with colour): matched without them. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The first catalogue entry a line matches. */
export function classify(line: string, catalogue: readonly KnownFailure[] = CATALOGUE): KnownFailure | undefined {
  return catalogue.find((entry) => entry.patterns.some((p) => p.test(line)));
}

/**
 * Read a log line by line (constant memory, whatever its size) and collect what it recognises, in
 * the order the failures first appear: the first one is usually the cause of the others.
 */
export async function diagnose(
  input: NodeJS.ReadableStream,
  catalogue: readonly KnownFailure[] = CATALOGUE,
): Promise<{ findings: Finding[]; lines: number }> {
  const found = new Map<string, { entry: KnownFailure; line: number; count: number; evidence: string }>();
  let lines = 0;
  // A multi-line message (kubectl describe) is matched line by line and, joined, with the previous line.
  let previous = '';
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    lines += 1;
    const line = raw.replace(ANSI_COLOUR, '');
    const entry = classify(line, catalogue) ?? classify(`${previous}\n${line}`, catalogue);
    previous = line;
    if (entry === undefined) continue;
    const seen = found.get(entry.id);
    if (seen !== undefined) seen.count += 1;
    else found.set(entry.id, { entry, line: lines, count: 1, evidence: line.trim().slice(0, 500) });
  }
  const findings = [...found.values()].map(({ entry, line, count, evidence }) => ({
    id: entry.id,
    title: entry.title,
    cause: entry.cause,
    fix: entry.fix,
    line,
    count,
    evidence,
  }));
  return { findings, lines };
}
