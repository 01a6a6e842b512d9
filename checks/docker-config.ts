import { basename, dirname, join } from 'node:path';
import {
  type CheckContext,
  type CheckResult,
  type FileStat,
  defineCheck,
  fail,
  isFileSystemError,
  pass,
  warn,
} from '../src/plugin.ts';
import { probeCreatable, probeWrite, statOrError } from './fs-probe.ts';
import { dockerConfigLocation, octal, stepEnvYaml } from './paths.ts';

const SET_DOCKER_CONFIG = `Point DOCKER_CONFIG at a directory the step can write, in the step env:\n${stepEnvYaml({ DOCKER_CONFIG: '/tmp/.docker' })}`;

export default defineCheck({
  id: 'docker-config',
  title: 'Docker config directory is writable and config.json is private',
  scope: 'any',
  inspects:
    'DOCKER_CONFIG or $HOME/.docker: a real write probe, config.json syntax and file mode (registry hostnames only, never credentials)',
  async run(ctx) {
    const location = dockerConfigLocation(ctx);
    const uid = ctx.user.uid;
    if (location === undefined) {
      return fail(
        `DOCKER_CONFIG and HOME are unset and uid ${uid} has no passwd entry: docker login and kaniko have no directory for config.json`,
        {
          remediation: SET_DOCKER_CONFIG,
        },
      );
    }
    if (location.source === 'HOME' && location.home === '/' && ctx.scope === 'pod') {
      // HOME=/ is what a random uid without a passwd entry gets: credentials would land in /.docker.
      return fail(
        `DOCKER_CONFIG is unset and HOME is /: docker login and kaniko fail with "mkdir /.docker: permission denied"`,
        {
          remediation: SET_DOCKER_CONFIG,
        },
      );
    }
    const { dir } = location;
    const named = location.source === 'DOCKER_CONFIG' ? `DOCKER_CONFIG (${dir})` : dir;
    const found = await statOrError(ctx, dir);
    if ('error' in found) {
      return fail(`${named} cannot be reached by uid ${uid}: ${found.error.message}`, {
        remediation: SET_DOCKER_CONFIG,
      });
    }
    if (found.stat === undefined) {
      // The tools create the directory on first use (mkdir -p): what matters is whether they can.
      const probe = await probeCreatable(ctx, dir);
      if (probe.ok) return pass(`${named} does not exist yet; uid ${uid} can create it (${probe.where} is writable)`);
      const blocked =
        location.source === 'HOME'
          ? `DOCKER_CONFIG is unset and HOME (${location.home}) is not writable by uid ${uid}: docker login and kaniko fail with "mkdir ${dir}: permission denied"`
          : `${named} does not exist and uid ${uid} cannot create it: ${probe.message}`;
      return fail(blocked, { remediation: SET_DOCKER_CONFIG });
    }
    if (found.stat.kind !== 'directory') {
      if (basename(dir) === 'config.json') {
        return fail(`${named} names the file config.json; DOCKER_CONFIG must name the directory that holds it`, {
          remediation: `Set DOCKER_CONFIG to the directory, in the step env:\n${stepEnvYaml({ DOCKER_CONFIG: dirname(dir) })}`,
        });
      }
      return fail(`${named} is a ${found.stat.kind}, not a directory`, { remediation: SET_DOCKER_CONFIG });
    }
    const probe = await probeWrite(ctx, dir);
    if (!probe.ok) {
      return fail(
        `${named} is not writable by uid ${uid} (mode ${octal(found.stat.mode)}, owner ${found.stat.uid}:${found.stat.gid}): ${probe.message}`,
        {
          remediation: SET_DOCKER_CONFIG,
        },
      );
    }
    return inspectConfigJson(ctx, named, join(dir, 'config.json'));
  },
});

async function inspectConfigJson(ctx: CheckContext, named: string, path: string): Promise<CheckResult> {
  const uid = ctx.user.uid;
  const found = await statOrError(ctx, path);
  if ('error' in found)
    return fail(`${path} cannot be reached by uid ${uid}: ${found.error.message}`, { remediation: SET_DOCKER_CONFIG });
  if (found.stat === undefined) return pass(`${named} is writable by uid ${uid}; no config.json yet`);
  if (found.stat.kind !== 'file')
    return fail(`${path} is a ${found.stat.kind}, not a file`, {
      remediation: `Remove it so the tools can write config.json:\nrm -r ${path}`,
    });
  let text: string;
  try {
    text = await ctx.fs.readFile(path);
  } catch (error) {
    if (!isFileSystemError(error)) throw error;
    return fail(
      `${path} is not readable by uid ${uid} (mode ${octal(found.stat.mode)}, owner ${found.stat.uid}:${found.stat.gid}): ${error.code}`,
      {
        remediation: secretVolumeFix(),
      },
    );
  }
  const config = parseConfig(text);
  if (config === undefined) {
    // The parser's message quotes the text around the error, which may be a credential.
    return fail(`${path} is not a valid JSON object: docker, buildah and kaniko refuse to read it`, {
      remediation: `Rewrite it as a JSON object, and check it with:\npython3 -m json.tool ${path}`,
    });
  }
  const details = describeCredentials(config);
  const inline = inlineCredentialHosts(config);
  if (inline.length > 0) {
    const problem = exposure(ctx, path, found.stat, details);
    if (problem !== undefined) return problem;
  }
  return pass(
    `${named} is writable by uid ${uid}; config.json parses${inline.length > 0 ? ' and its credentials are private' : ''}`,
    { details },
  );
}

/** Credentials in a file others can read leak to every process in the pod that shares the uid or group. */
function exposure(
  ctx: CheckContext,
  path: string,
  stat: FileStat,
  details: readonly string[],
): CheckResult | undefined {
  const owned = stat.uid === ctx.user.uid;
  const chmod = `Make it readable by its owner only:\nchmod 600 ${path}`;
  if ((stat.mode & 0o004) !== 0) {
    return fail(`${path} holds registry credentials and is readable by every user (mode ${octal(stat.mode)})`, {
      remediation: owned ? chmod : secretVolumeFix(),
      details,
    });
  }
  if ((stat.mode & 0o040) === 0) return undefined;
  // A mounted Secret owned by root is readable by a random uid only through its group (gid 0 on
  // OpenShift): there the group bit is what makes it work, and chmod 600 would break the pipeline.
  if (!owned) return undefined;
  return warn(`${path} holds registry credentials and is readable by group ${stat.gid} (mode ${octal(stat.mode)})`, {
    remediation: chmod,
    details,
  });
}

function secretVolumeFix(): string {
  return [
    'Mount the registry Secret so that the step reads it through its group (gid 0 on OpenShift) and nobody else can:',
    'volumes:',
    '  - name: docker-config',
    '    secret:',
    '      secretName: <registry-secret>',
    '      defaultMode: 0440',
  ].join('\n');
}

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseConfig(text: string): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** `https://index.docker.io/v1/` → `index.docker.io`: keys are shown, values never. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? key;
}

function inlineCredentialHosts(config: JsonObject): string[] {
  const auths = isObject(config.auths) ? config.auths : {};
  const hasSecret = (entry: unknown): boolean =>
    isObject(entry) &&
    ['auth', 'identitytoken'].some((field) => typeof entry[field] === 'string' && entry[field] !== '');
  return Object.entries(auths)
    .filter(([, entry]) => hasSecret(entry))
    .map(([key]) => hostOf(key));
}

function describeCredentials(config: JsonObject): string[] {
  const details: string[] = [];
  const inline = inlineCredentialHosts(config);
  if (inline.length > 0) details.push(`inline credentials for: ${inline.join(', ')}`);
  if (typeof config.credsStore === 'string') details.push(`credsStore: docker-credential-${config.credsStore}`);
  if (isObject(config.credHelpers)) {
    for (const [key, helper] of Object.entries(config.credHelpers)) {
      if (typeof helper === 'string') details.push(`credHelpers: ${hostOf(key)} → docker-credential-${helper}`);
    }
  }
  return details;
}
