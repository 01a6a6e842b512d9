import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, runCli } from '../support/cli.ts';

type Json = Record<string, unknown>;

/** Every YAML document under deploy/, parsed strictly (a syntax error or duplicate key fails here). */
function documents(): { file: string; doc: Json }[] {
  const out: { file: string; doc: Json }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(entry.name)) {
        for (const parsed of parseAllDocuments(readFileSync(join(REPO_ROOT, rel), 'utf8'), { uniqueKeys: true })) {
          expect(parsed.errors, rel).toEqual([]);
          const value: unknown = parsed.toJS();
          if (isObject(value)) out.push({ file: rel, doc: value });
        }
      }
    }
  };
  walk('deploy');
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === 'number') current = Array.isArray(current) ? current[key] : undefined;
    else current = isObject(current) ? current[key] : undefined;
  }
  return current;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function find(kind: string, name?: string): Json {
  const found = documents().find(
    ({ doc }) => doc.kind === kind && (name === undefined || at(doc, 'metadata', 'name') === name),
  );
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''} under deploy/`);
  return found.doc;
}

function kfpComponent(): Json {
  const found = documents().find(({ file }) => file === join('deploy', 'kfp', 'component.yaml'));
  if (found === undefined) throw new Error('no deploy/kfp/component.yaml');
  return found.doc;
}

/** `preflight <command> --help`, once per command. */
const helpCache = new Map<string, Promise<string>>();
function help(command: string): Promise<string> {
  let text = helpCache.get(command);
  if (text === undefined) {
    text = runCli([...command.split(' '), '--help']).then((r) => {
      if (r.code !== 0) throw new Error(`preflight ${command} --help exited ${String(r.code)}: ${r.stderr}`);
      return r.stdout;
    });
    helpCache.set(command, text);
  }
  return text;
}

/** The preflight subcommand and every --flag of a container's command + args (placeholders skipped). */
function invocation(command: readonly unknown[], args: readonly unknown[]): { command: string; flags: string[] } {
  const words = [...command, ...args].filter((w): w is string => typeof w === 'string');
  const start = words[0] === 'preflight' ? 1 : 0;
  const sub = words[start] ?? '';
  return {
    command: sub,
    flags: words
      .slice(start + 1)
      .filter((w) => w.startsWith('--'))
      .map((w) => w.split('=')[0] ?? w),
  };
}

async function expectFlagsInHelp(where: string, command: readonly unknown[], args: readonly unknown[]): Promise<void> {
  const { command: sub, flags } = invocation(command, args);
  expect(sub, `${where}: the preflight command`).toMatch(/^(run|check|push|mint-creds|diagnose|modelcar)$/);
  const text = await help(sub);
  expect(flags.length, where).toBeGreaterThan(0);
  for (const flag of flags)
    expect(text, `${where} uses ${flag}, which preflight ${sub} --help does not list`).toMatch(
      new RegExp(`(^|[ ,])${flag}( |,|$)`, 'm'),
    );
}

describe('deploy/ manifests', () => {
  let docs: { file: string; doc: Json }[];
  beforeAll(() => {
    docs = documents();
  });

  it('every file parses, and every Kubernetes document has apiVersion, kind and a name', () => {
    expect(docs.length).toBeGreaterThanOrEqual(6);
    for (const { file, doc } of docs) {
      if (file.includes('kfp')) continue;
      expect(doc.apiVersion, file).toEqual(expect.any(String));
      expect(doc.kind, file).toEqual(expect.any(String));
      expect(at(doc, 'metadata', 'name'), file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('the KFP component has inputs, an output path, a container, and uses every input', async () => {
    const component = kfpComponent();
    expect(component.name).toEqual(expect.any(String));
    const inputs = list(component.inputs).map((i) => at(i, 'name'));
    expect(inputs).toEqual(['model_dir', 'ecr_uri', 'tag', 'base_image', 'platform']);
    expect(list(component.outputs).map((o) => at(o, 'name'))).toEqual(['image_uri']);
    const container = at(component, 'implementation', 'container');
    expect(at(container, 'image')).toMatch(/preflight:\d+\.\d+\.\d+$/);
    const args = list(at(container, 'args'));
    const used = args.flatMap((a) => (isObject(a) ? Object.values(a) : []));
    for (const input of inputs) expect(used, `input ${String(input)} is not used`).toContain(input);
    expect(args).toContainEqual({ outputPath: 'image_uri' });
    expect(args[args.findIndex((a) => isObject(a) && a.outputPath === 'image_uri') - 1]).toBe('--image-uri-file');
    await expectFlagsInHelp('deploy/kfp/component.yaml', list(at(container, 'command')), args);
  });

  it('the Tekton Task is tekton.dev/v1 with the catalog results, and its step flags exist', async () => {
    const task = find('Task', 'preflight-modelcar');
    expect(task.apiVersion).toBe('tekton.dev/v1');
    expect(list(at(task, 'spec', 'results')).map((r) => at(r, 'name'))).toEqual(['IMAGE_DIGEST', 'IMAGE_URL']);
    expect(list(at(task, 'spec', 'workspaces')).map((w) => at(w, 'name'))).toEqual(['source', 'dockerconfig']);
    const step = at(task, 'spec', 'steps', 0);
    const args = list(at(step, 'args')).map(String);
    expect(args[args.indexOf('--image-digest-file') + 1]).toBe('$(results.IMAGE_DIGEST.path)');
    expect(args[args.indexOf('--image-url-file') + 1]).toBe('$(results.IMAGE_URL.path)');
    expect(args[args.indexOf('--model-dir') + 1]).toContain('$(workspaces.source.path)');
    const params = list(at(task, 'spec', 'params')).map((p) => String(at(p, 'name')));
    const text = JSON.stringify(step);
    for (const param of params) expect(text, `param ${param} is not used`).toContain(`$(params.${param}`);
    expect(at(step, 'securityContext', 'runAsNonRoot')).toBe(true);
    await expectFlagsInHelp('deploy/tekton/task.yaml', list(at(step, 'command')), args);
  });

  it('the rotation CronJob runs every 2 hours with --rotate-if-expiring-within 3h, as its ServiceAccount', async () => {
    const cron = find('CronJob', 'preflight-rotate-credentials');
    expect(at(cron, 'spec', 'schedule')).toBe('0 */2 * * *');
    expect(at(cron, 'spec', 'concurrencyPolicy')).toBe('Forbid');
    const pod = at(cron, 'spec', 'jobTemplate', 'spec', 'template', 'spec');
    const container = at(pod, 'containers', 0);
    const args = list(at(container, 'args')).map(String);
    expect(args.slice(0, 3)).toEqual(['mint-creds', '--rotate-if-expiring-within', '3h']);
    expect(at(pod, 'serviceAccountName')).toBe(at(find('ServiceAccount'), 'metadata', 'name'));
    const env = list(at(container, 'env')).map((e) => at(e, 'name'));
    expect(env).toEqual(expect.arrayContaining(['DS_PROJECT', 'ROLE_ARN']));
    await expectFlagsInHelp('deploy/k8s/cronjob.yaml', list(at(container, 'command')), args);
  });

  it('the Role grants only get, create and update on Secrets, bound to the rotator ServiceAccount', () => {
    const role = find('Role', 'preflight-secrets');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }]);
    const binding = find('RoleBinding', 'preflight-secrets');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'preflight-secrets' });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: at(find('ServiceAccount'), 'metadata', 'name') },
    ]);
  });

  it('the drift check itself catches a flag preflight does not have', async () => {
    await expect(expectFlagsInHelp('a test', ['preflight'], ['run', '--no-such-flag'])).rejects.toThrow(
      /--no-such-flag/,
    );
  });
});

describe('Containerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8');
  const instructions = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages = instructions.reduce<string[][]>((acc, line) => {
    if (line.startsWith('FROM ')) acc.push([]);
    acc.at(-1)?.push(line);
    return acc;
  }, []);

  it('is multi-stage, on the platform build arg that defaults to linux/amd64', () => {
    expect(instructions).toContain('ARG PLATFORM=linux/amd64');
    expect(stages).toHaveLength(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM --platform=\$\{PLATFORM\} \$\{NODE_IMAGE\}/);
    expect(instructions.find((l) => l.startsWith('ARG NODE_IMAGE='))).toMatch(/nodejs-24/);
  });

  it('builds with npm ci and tsc, and ships production dependencies only, without the npm cache', () => {
    const build = (stages[0] ?? []).join('\n');
    expect(build).toMatch(/RUN npm ci\b/);
    expect(build).toMatch(/npm run build/);
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(build).toMatch(/npm cache clean --force/);
    const runtime = (stages[1] ?? []).join('\n');
    expect(runtime).not.toMatch(/npm (ci|install)/);
    expect(runtime).toMatch(/rm -rf \/root\/\.npm/);
  });

  it('runs as a non-root uid in group 0 with HOME and DOCKER_CONFIG in a group-writable place', () => {
    const runtime = stages[1] ?? [];
    expect(runtime.filter((l) => l.startsWith('USER ')).at(-1)).toMatch(/^USER [1-9]\d*$/);
    const env = runtime.filter((l) => l.startsWith('ENV ')).join(' ');
    expect(env).toMatch(/HOME=\/home\/preflight/);
    expect(env).toMatch(/DOCKER_CONFIG=\/home\/preflight\/\.docker/);
    const run = runtime.filter((l) => l.startsWith('RUN ')).join(' ');
    expect(run).toMatch(/chgrp -R 0 \/home\/preflight/);
    expect(run).toMatch(/chmod -R g=u \/home\/preflight/);
    expect(runtime).toContain('ENTRYPOINT ["preflight"]');
    expect(runtime.join(' ')).toMatch(/org\.opencontainers\.image\.title=/);
    expect(runtime.join(' ')).toMatch(/org\.opencontainers\.image\.version=/);
  });

  it('copies only paths that exist in the repository', () => {
    for (const line of stages[0] ?? []) {
      if (!line.startsWith('COPY ') || line.includes('--from')) continue;
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) expect(existsSync(join(REPO_ROOT, source)), `${source} in: ${line}`).toBe(true);
    }
  });
});

describe('the runtime image contents', () => {
  it('the built CLI imports only node: builtins, relative files and production dependencies (the image prunes dev ones)', () => {
    const pkg: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    const deps = Object.keys(isObject(pkg) && isObject(pkg.dependencies) ? pkg.dependencies : {});
    const missing = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
        const rel = join(dir, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith('.js')) {
          const source = readFileSync(join(REPO_ROOT, rel), 'utf8');
          // TypeScript's own scanner finds the real import specifiers: a regex also matched
          // "from 'preflight'" inside a comment or a remediation string.
          for (const { fileName: spec } of ts.preProcessFile(source, true, true).importedFiles) {
            if (spec.startsWith('.') || spec.startsWith('node:')) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
            if (!deps.includes(name)) missing.add(`${rel}: ${spec}`);
          }
        }
      }
    };
    walk('dist');
    walk('bin');
    expect([...missing]).toEqual([]);
  });
});
