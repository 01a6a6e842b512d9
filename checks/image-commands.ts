import { posix } from 'node:path';
import { shellCommands } from './shell-words.ts';

/** What a container's command line does with images: what it pushes, what it builds. */
export interface ImageCommands {
  /** Image references pushed to a registry, `docker://` stripped, as written. */
  readonly pushes: readonly string[];
  readonly builds: readonly Build[];
}

export interface Build {
  readonly tool: 'kaniko' | 'buildah' | 'podman' | 'docker';
  /** `--platform`, buildah's `--arch`, kaniko's `--custom-platform`: the target is explicit. */
  readonly platformHint: boolean;
}

/** How a container runs: `command` + `args` (exec form), or a Tekton `script`. */
export interface ContainerCommand {
  readonly image?: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly script?: string;
}

const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh']);
const WRAPPERS = new Set(['exec', 'sudo', 'time', 'command', 'nice', 'nohup', 'env']);
// Flags of buildah, podman, docker, skopeo and preflight (global and push/copy) that take a value
// as the next word: without them a flag value would pass for the destination.
const VALUE_FLAGS = new Set([
  '--authfile',
  '--src-authfile',
  '--dest-authfile',
  '--cert-dir',
  '--src-cert-dir',
  '--dest-cert-dir',
  '--creds',
  '--src-creds',
  '--dest-creds',
  '--src-registry-token',
  '--dest-registry-token',
  '--digestfile',
  '--digest-file',
  '--format',
  '-f',
  '--sign-by',
  '--sign-by-sigstore',
  '--sign-by-sigstore-private-key',
  '--sign-passphrase-file',
  '--sign-identity',
  '--signature-policy',
  '--policy',
  '--retry',
  '--retry-times',
  '--retry-delay',
  '--compression-format',
  '--compression-level',
  '--dest-compress-format',
  '--dest-compress-level',
  '--encryption-key',
  '--decryption-key',
  '--encrypt-layer',
  '--additional-tag',
  '--multi-arch',
  '--override-arch',
  '--override-os',
  '--override-variant',
  '--image-parallel-copies',
  '--registries.d',
  '--command-timeout',
  '--tmpdir',
  '--storage-driver',
  '--storage-opt',
  '--root',
  '--runroot',
  '--registries-conf',
  '--registries-conf-dir',
  '--log-level',
  '--cgroup-manager',
  '--userns-uid-map',
  '--userns-gid-map',
  '--url',
  '--connection',
  '--identity',
  '--config',
  '--context',
  '-H',
  '--host',
  '--upload-mode',
  '--chunk-size',
  '--concurrency',
  '--insecure-registry',
  '--ca-file',
  '-o',
  '--output',
  '-t',
  '--tag',
]);
// Destinations that are not registries: an archive or local storage goes stale on no node.
const LOCAL_TRANSPORT = /^(?:oci|oci-archive|docker-archive|dir|containers-storage|docker-daemon):/;

/** Read what a container does with images, from its exec form or its script. */
export function imageCommands(container: ContainerCommand): ImageCommands {
  const pushes: string[] = [];
  const builds: Build[] = [];
  for (const words of commandLines(container)) {
    const program = posix.basename(words[0] ?? '');
    const rest = words.slice(1);
    if (program === 'executor' || program === 'kaniko') kaniko(rest, pushes, builds);
    else if (program === 'buildah' || program === 'podman' || program === 'docker')
      engine(program, rest, pushes, builds);
    else if (program === 'skopeo') skopeo(rest, pushes);
    else if (program === 'preflight') preflight(rest, pushes);
  }
  return { pushes, builds };
}

function commandLines(container: ContainerCommand): readonly (readonly string[])[] {
  if (container.script !== undefined) return shellCommands(container.script).flatMap((line) => expandShell(line, 0));
  // The kaniko executor image has the executor as its entrypoint: args alone are its flags.
  if (container.command.length === 0 && container.image?.includes('kaniko') === true)
    return [['executor', ...container.args]];
  return expandShell([...container.command, ...container.args], 0);
}

/** `sh -c SCRIPT`, `bash -ec SCRIPT`: the commands are in the word after the option holding `c`. */
function expandShell(line: readonly string[], depth: number): readonly (readonly string[])[] {
  const words = unwrap(line);
  if (!SHELLS.has(posix.basename(words[0] ?? '')) || depth > 3) return [words];
  const option = words.findIndex((word, index) => index > 0 && /^-[a-z]*c[a-z]*$/.test(word));
  const script = option < 0 ? undefined : words[option + 1];
  return script === undefined ? [] : shellCommands(script).flatMap((inner) => expandShell(inner, depth + 1));
}

/** Drop `VAR=value` prefixes and wrappers such as `exec` or `env`, down to the program. */
function unwrap(words: readonly string[]): readonly string[] {
  let start = 0;
  while (start < words.length) {
    const word = words[start] ?? '';
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || WRAPPERS.has(word)) start += 1;
    else break;
  }
  return words.slice(start);
}

function flagValues(words: readonly string[], names: readonly string[]): string[] {
  const values: string[] = [];
  words.forEach((word, index) => {
    for (const name of names) {
      if (word === name && index + 1 < words.length) values.push(words[index + 1] ?? '');
      else if (word.startsWith(`${name}=`)) values.push(word.slice(name.length + 1));
    }
  });
  return values;
}

function hasFlag(words: readonly string[], names: readonly string[]): boolean {
  return words.some((word) => names.some((name) => word === name || word.startsWith(`${name}=`)));
}

/** Words that are not flags nor flag values, in order. */
function positionals(words: readonly string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    if (VALUE_FLAGS.has(word)) i += 1;
    else if (!word.startsWith('-')) found.push(word);
  }
  return found;
}

function registryTarget(reference: string | undefined): string | undefined {
  if (reference === undefined || reference === '') return undefined;
  const stripped = reference.startsWith('docker://') ? reference.slice('docker://'.length) : reference;
  return LOCAL_TRANSPORT.test(stripped) ? undefined : stripped;
}

function kaniko(args: readonly string[], pushes: string[], builds: Build[]): void {
  builds.push({ tool: 'kaniko', platformHint: hasFlag(args, ['--custom-platform']) });
  const noPush = args.some((word) => word === '--no-push' || word === '--no-push=true');
  if (noPush) return;
  for (const destination of flagValues(args, ['--destination', '-d'])) {
    const target = registryTarget(destination);
    if (target !== undefined) pushes.push(target);
  }
}

function engine(
  tool: 'buildah' | 'podman' | 'docker',
  words: readonly string[],
  pushes: string[],
  builds: Build[],
): void {
  const args = positionals(words);
  // `podman image push`, `docker image build`, `docker buildx build`: the verb is one word further.
  const verbAt = args[0] === 'image' || args[0] === 'buildx' ? 1 : 0;
  const verb = args[verbAt];
  const after = words.slice(words.indexOf(verb ?? '') + 1);
  if (verb === 'push') {
    const target = registryTarget(positionals(after).at(-1));
    if (target !== undefined) pushes.push(target);
  } else if (verb === 'bud' || verb === 'build' || verb === 'build-using-dockerfile') {
    builds.push({ tool, platformHint: hasFlag(after, ['--platform', '--arch']) });
    // `docker buildx build --push -t X` builds and pushes in one go.
    if (args[0] === 'buildx' && hasFlag(after, ['--push'])) {
      for (const tag of flagValues(after, ['-t', '--tag'])) pushes.push(tag);
    }
  }
}

function skopeo(words: readonly string[], pushes: string[]): void {
  const args = positionals(words);
  if (args[0] !== 'copy') return;
  const destination = args.at(-1);
  if (args.length >= 3 && destination?.startsWith('docker://') === true)
    pushes.push(destination.slice('docker://'.length));
}

function preflight(words: readonly string[], pushes: string[]): void {
  const args = positionals(words);
  if (args[0] === 'push') {
    const target = registryTarget(args[2]);
    if (target !== undefined) pushes.push(target);
  } else if (args[0] === 'modelcar' && args[1] === 'build') {
    for (const image of flagValues(words, ['--image'])) pushes.push(image.replace(/^docker:\/\//, ''));
  }
}
