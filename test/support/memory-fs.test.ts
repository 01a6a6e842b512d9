import { describe, expect, it } from 'vitest';
import { isFileSystemError } from '../../src/plugin.ts';
import { createMemoryFs, dir, file, symlink } from './memory-fs.ts';

const GiB = 1024 ** 3;
const alice = { uid: 1000, gid: 1000, groups: [1000] };
const randomUid = { uid: 1000770000, gid: 0, groups: [0] };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isFileSystemError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('createMemoryFs', () => {
  const files = {
    '/home/alice': dir(0o700, { uid: 1000, gid: 1000 }),
    '/home/alice/notes': file('mine', { mode: 0o600, uid: 1000, gid: 1000 }),
    '/shared/group0': file('g', { mode: 0o640, uid: 5, gid: 0 }),
    '/shared/world': file('w', { mode: 0o604, uid: 5, gid: 0 }),
    '/bin/tool': file('#!', { mode: 0o644 }),
  };

  it.each([
    ['owner bits for the owner', alice, '/home/alice/notes', 'read', true],
    ['nothing for others in a 0700 directory', randomUid, '/home/alice/notes', 'read', false],
    ['group bits for a member of the group', randomUid, '/shared/group0', 'read', true],
    ['group bits only, even when other bits would allow', randomUid, '/shared/world', 'read', false],
    ['other bits for everyone else', alice, '/shared/world', 'read', true],
    ['root reads and writes whatever the bits', { uid: 0, gid: 0, groups: [0] }, '/home/alice/notes', 'write', true],
    ['root executes only with some x bit', { uid: 0, gid: 0, groups: [0] }, '/bin/tool', 'execute', false],
    ['missing paths', alice, '/nope', 'read', false],
  ] as const)('canAccess applies %s', async (_name, user, path, mode, expected) => {
    const fs = createMemoryFs({ user, files });
    expect(await fs.canAccess(path, mode)).toBe(expected);
  });

  it('needs search permission on every ancestor', async () => {
    const fs = createMemoryFs({ user: randomUid, files });
    expect(await codeOf(fs.stat('/home/alice/notes'))).toBe('EACCES');
    expect(await fs.stat('/home/nobody')).toBeUndefined();
    expect(await codeOf(fs.stat('/shared/world/x'))).toBe('ENOTDIR');
  });

  it('creates files as the user, honouring mode, umask, exclusive and setgid', async () => {
    const fs = createMemoryFs({
      user: randomUid,
      files: {
        '/tmp': dir(0o1777),
        '/data': dir(0o2777, { gid: 0 }),
        '/etc/passwd': file('root:x:0:0::/root:/bin/sh\n'),
      },
    });
    await fs.writeFile('/tmp/probe', 'x', { mode: 0o666, exclusive: true });
    expect(await fs.stat('/tmp/probe')).toMatchObject({
      kind: 'file',
      mode: 0o644,
      uid: randomUid.uid,
      gid: 0,
      size: 1,
    });
    expect(await codeOf(fs.writeFile('/tmp/probe', 'y', { exclusive: true }))).toBe('EEXIST');
    expect(await fs.readFile('/tmp/probe')).toBe('x');
    expect(await codeOf(fs.writeFile('/etc/passwd', 'x'))).toBe('EACCES');
    expect(await codeOf(fs.writeFile('/etc/group', 'x'))).toBe('EACCES');
    expect(await codeOf(fs.writeFile('/tmp/missing/f', 'x'))).toBe('ENOENT');
    await fs.mkdir('/data/a/b', { recursive: true });
    expect(await fs.stat('/data/a/b')).toMatchObject({ kind: 'directory', mode: 0o2755, uid: randomUid.uid, gid: 0 });
    expect(fs.operations()).toEqual(['writeFile /tmp/probe', 'mkdir /data/a', 'mkdir /data/a/b']);
  });

  it('refuses mkdir over an existing entry and rm of a directory, as node-fs does', async () => {
    const fs = createMemoryFs({ user: alice, files: { '/home/alice': dir(0o755, { uid: 1000 }) } });
    expect(await codeOf(fs.mkdir('/home/alice'))).toBe('EEXIST');
    await fs.mkdir('/home/alice', { recursive: true });
    expect(await codeOf(fs.mkdir('/home/alice/x/y'))).toBe('ENOENT');
    await fs.mkdir('/home/alice/x');
    expect(await codeOf(fs.remove('/home/alice/x'))).toBe('ERR_FS_EISDIR');
  });

  it('keeps others from deleting files in a sticky directory', async () => {
    const fs = createMemoryFs({
      user: randomUid,
      files: { '/tmp': dir(0o1777), '/tmp/theirs': file('', { uid: 1000, mode: 0o666 }) },
    });
    expect(await codeOf(fs.remove('/tmp/theirs'))).toBe('EPERM');
    expect(fs.paths()).toContain('/tmp/theirs');
  });

  it('answers statfs from the longest mount prefix and refuses writes on read-only mounts', async () => {
    const fs = createMemoryFs({
      user: { uid: 0, gid: 0, groups: [0] },
      files: { '/tmp': dir(0o1777), '/models/llm': dir(), '/etc/ro': dir() },
      mounts: {
        '/': { availableBytes: 10, totalBytes: 20, readOnly: true },
        '/tmp': { availableBytes: 5 * GiB, totalBytes: 8 * GiB },
      },
    });
    expect(await fs.statfs('/tmp')).toEqual({ availableBytes: 5 * GiB, totalBytes: 8 * GiB });
    expect((await fs.statfs('/models/llm')).availableBytes).toBe(10);
    expect(await codeOf(fs.statfs('/nope'))).toBe('ENOENT');
    expect(await codeOf(fs.writeFile('/etc/ro/x', ''))).toBe('EROFS');
    expect(await fs.canAccess('/etc/ro', 'write')).toBe(false);
    await fs.writeFile('/tmp/x', '');
  });

  it('sums declared sizes in diskUsage without following symlinks', async () => {
    const fs = createMemoryFs({
      user: alice,
      files: {
        '/models/llm/model.safetensors': file({ size: 48 * GiB }),
        '/models/llm/config.json': file('{}'),
        '/models/llm/link': symlink('/models/llm/model.safetensors'),
      },
    });
    expect(await fs.diskUsage('/models/llm')).toEqual({ bytes: 48 * GiB + 2, files: 2 });
    expect(await fs.lstat('/models/llm/link')).toMatchObject({ kind: 'symlink' });
    expect(await fs.stat('/models/llm/link')).toMatchObject({ kind: 'file', size: 48 * GiB });
    expect(await fs.readDir('/models/llm')).toEqual([
      { name: 'config.json', kind: 'file' },
      { name: 'link', kind: 'symlink' },
      { name: 'model.safetensors', kind: 'file' },
    ]);
  });
});
