import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../support/cli.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'diagnose-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run the CLI with `input` on standard input. */
function withStdin(
  args: readonly string[],
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const KANIKO_LOG = [
  'INFO[0000] Retrieving image manifest busybox:1.37',
  'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:v1": POST https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/team/model/blobs/uploads/: DENIED: User: arn:aws:sts::123456789012:assumed-role/pipeline/x is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-1:123456789012:repository/team/model',
].join('\n');

describe('preflight diagnose', () => {
  it('reads standard input and prints cause and fix', async () => {
    const result = await withStdin(['diagnose'], KANIKO_LOG);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^1\. ECR 403: the IAM identity lacks a push action \[ecr-permission-denied\]\n {3}line 2: error checking push permissions/,
    );
    expect(result.stdout).toContain('fix:   Run preflight check --only ecr-permissions');
  });

  it('reads --file and writes JSON', async () => {
    const file = join(dir, 'pod.log');
    await writeFile(file, 'Reason: OOMKilled\nexec /app: exec format error\n');
    const result = await runCli(['diagnose', '--file', file, '-o', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      schemaVersion: 1,
      lines: 2,
      recognised: true,
      findings: [
        { id: 'oom-killed', line: 1 },
        { id: 'exec-format-error', line: 2 },
      ],
    });
  });

  it('says so when nothing is recognised, and exits 0', async () => {
    const result = await withStdin(['diagnose'], 'all good\nPushed image\n');
    expect(result).toMatchObject({ code: 0, stdout: 'no known failure recognised in standard input (2 lines)\n' });
  });

  it('an unreadable --file is a one-line error with exit 2', async () => {
    const result = await runCli(['diagnose', '--file', join(dir, 'missing.log')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: cannot read --file .*missing\.log: ENOENT/);
    expect(result.stdout).toBe('');
  });
});
