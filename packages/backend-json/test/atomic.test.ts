// The one durable write of the toolkit (`@deploystate/backend-json/atomic`), which the JSON store and
// the migrator share: what a replaced file keeps (its permission bits), what happens at a symbolic
// link, and what a failed write leaves. The order of its syncs and rename is in durable-order.test.ts.
import { chmod, lstat, mkdir, readFile, readdir, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { DESCRIPTOR_IDLE_MS, LEFTOVER_MIN_AGE_MS } from '@deploystate/core';
import { AtomicFileWriter, FolderSync, sweepDeadTemps, writeFileAtomic, writeFileDurable } from '../src/atomic.js';

async function tempDir(): Promise<string> {
  const dir = await makeTempDir('deploystate-atomic-');
  onTestFinished(() => removeTempDir(dir));
  return dir;
}

const writers = [
  ['writeFileAtomic', (target: string, text: string) => writeFileAtomic(target, text)],
  ['writeFileDurable', (target: string, text: string) => writeFileDurable(target, text)],
] as const;

describe.each(writers)('%s', (name, write) => {
  it('keeps the permission bits the user gave the file', async () => {
    const dir = await tempDir();
    const target = join(dir, 'state.json');
    await writeFile(target, 'old\n');
    await chmod(target, 0o640);
    await write(target, 'new\n');
    expect((await stat(target)).mode & 0o777).toBe(0o640);
    expect(await readFile(target, 'utf8')).toBe('new\n');
  });

  it('never writes through a symbolic link at the target: writeFileAtomic replaces the link, writeFileDurable refuses it (NOT_A_FILE)', async () => {
    const dir = await tempDir();
    const outside = join(dir, 'outside.json');
    const target = join(dir, 'state.json');
    await writeFile(outside, 'theirs\n');
    await symlink(outside, target);
    if (name === 'writeFileDurable') {
      // A state file (phase.json, a config) linked from elsewhere stays a link, and what it points to as it was.
      await expect(write(target, 'new\n')).rejects.toMatchObject({ code: 'NOT_A_FILE', file: target });
      expect((await lstat(target)).isSymbolicLink()).toBe(true);
    } else {
      await write(target, 'new\n');
      expect((await lstat(target)).isSymbolicLink()).toBe(false);
      expect(await readFile(target, 'utf8')).toBe('new\n');
    }
    expect(await readFile(outside, 'utf8')).toBe('theirs\n');
  });

  it('a failed rename leaves what was at the target and no temp file, with a code naming the target', async () => {
    const dir = await tempDir();
    const target = join(dir, 'state.json');
    // A non-empty folder at the target: the rename over it fails after the temp file is complete.
    await mkdir(join(target, 'inside'), { recursive: true });
    const before = await readdir(dir);
    // A folder where the file goes is named as what it is (EISDIR), not as a failed write.
    await expect(write(target, 'new\n')).rejects.toMatchObject({ code: 'NOT_A_FILE', file: target });
    expect((await lstat(target)).isDirectory()).toBe(true);
    expect(await readdir(join(target))).toEqual(['inside']);
    const tmpFiles = async (folder: string): Promise<string[]> =>
      (await readdir(folder).catch(() => [] as string[])).filter((name) => name.endsWith('.tmp'));
    expect(await tmpFiles(dir)).toEqual([]);
    expect(await tmpFiles(join(dir, '.deploystate', 'tmp'))).toEqual([]);
    expect((await readdir(dir)).filter((name) => !before.includes(name) && name !== '.deploystate')).toEqual([]);
  });
});

describe('writeFileAtomic, data in pieces', () => {
  it('writes the pieces one after another, over a longer file it recycles too, small and past the synchronous write size', async () => {
    const dir = await tempDir();
    const target = join(dir, 'state.json');
    for (const size of [10_000, 600_000]) {
      const whole = Buffer.alloc(size);
      for (let i = 0; i < size; i++) whole[i] = 97 + (i % 26);
      // Uneven pieces, an empty one among them, and views into one buffer, as a splice hands them.
      const pieces = [whole.subarray(0, 7), whole.subarray(7, 7), whole.subarray(7, size >> 1), Buffer.from(whole.subarray(size >> 1))];
      const longer = join(dir, `longer-${size}`);
      await writeFile(longer, Buffer.alloc(size + 4096, 120));
      await writeFileAtomic(target, pieces, { recycle: longer });
      expect((await readFile(target)).equals(whole)).toBe(true);
    }
  });
});

describe('writeFileAtomic, a failure after the rename', () => {
  it('a folder sync that fails says the new version is in place (data.replaced), never that the previous file is intact', async () => {
    const dir = await tempDir();
    const target = join(dir, 'state.json');
    await writeFile(target, 'old\n');
    // The folder's sync fails as a disk error would (EIO), once the file is renamed into place.
    const failing = new FolderSync(dir);
    onTestFinished(() => failing.close());
    failing.sync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    const error = await writeFileAtomic(target, 'new\n', { folder: failing }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'WRITE_FAILED', file: target, data: { replaced: true } });
    expect(await readFile(target, 'utf8')).toBe('new\n');
    // Before the rename, the previous file is intact, and the error says so too.
    await mkdir(join(dir, 'folder-target', 'inside'), { recursive: true });
    await expect(writeFileAtomic(join(dir, 'folder-target'), 'x\n')).rejects.toMatchObject({ data: { replaced: false } });
    // A file that did not exist: the error says none was made, not that a previous one is intact.
    const full = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    const fresh = await writeFileAtomic(join(dir, 'fresh.json'), 'x\n', { beforeRename: full }).then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(fresh).toMatchObject({ code: 'DISK_FULL', data: { replaced: false } });
    expect(fresh?.message).toMatch(/no file was created$/);
  });
});

describe('writeFileDurable', () => {
  it('creates the missing folder and keeps its temp file beside the target (no .deploystate folder there)', async () => {
    const dir = await tempDir();
    const target = join(dir, 'a', 'b', 'report.json');
    await writeFileDurable(target, '{}\n');
    expect(await readFile(target, 'utf8')).toBe('{}\n');
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['report.json']);
  });

  it('a new file gets the default permission bits (0o666 less the umask)', async () => {
    const dir = await tempDir();
    const target = join(dir, 'fresh.json');
    await writeFileDurable(target, '{}\n');
    expect((await stat(target)).mode & 0o777).toBe(0o666 & ~process.umask());
  });
});

describe('FolderSync', () => {
  it('keeps the folder open across writes, and opens it afresh once its path names another folder', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'deployments');
    await mkdir(folder);
    const sync = new FolderSync(folder);
    onTestFinished(() => sync.close());
    const write = (text: string) => writeFileAtomic(join(folder, 'a.json'), text, { folder: sync, tmpDir: join(dir, 'tmp') });
    await write('1\n');
    const first = sync.opened;
    expect(first?.ino).toBe((await stat(folder)).ino);
    await write('2\n');
    expect(sync.opened).toEqual(first);
    // The folder moved away and another made under its name: the sync must reach the new one.
    await rename(folder, join(dir, 'moved'));
    await mkdir(folder);
    await write('3\n');
    expect(sync.opened?.ino).toBe((await stat(folder)).ino);
    expect(sync.opened?.ino).not.toBe(first?.ino);
    expect(await readFile(join(folder, 'a.json'), 'utf8')).toBe('3\n');
  });

  // Called right after the rename: a throw (a folder it can no longer stat or open) skipped the
  // report that the new version is in place, and said the previous file was intact.
  it('a sync that cannot reach its folder rejects (the caller has renamed by now), never throws', async () => {
    const dir = await tempDir();
    const sync = new FolderSync(join(dir, 'gone'));
    onTestFinished(() => sync.close());
    let synced: Promise<void> | undefined;
    expect(() => {
      synced = sync.sync();
    }).not.toThrow();
    await expect(synced).rejects.toMatchObject({ code: 'ENOENT' });
  });

  // A store created per call and never closed kept its folder open for the rest of the process.
  it('lets the folder go once unused, a write given up before its rename included, and opens it again for the next write', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'deployments');
    await mkdir(folder);
    const sync = new FolderSync(folder);
    onTestFinished(() => sync.close());
    const write = (text: string, beforeRename?: () => false) =>
      writeFileAtomic(join(folder, 'a.json'), text, { folder: sync, tmpDir: join(dir, 'tmp'), ...(beforeRename && { beforeRename }) });
    await write('1\n');
    expect(sync.opened).toBeDefined();
    // Given up after the folder was checked for its sync, before the rename: no sync follows.
    await write('2\n', () => false);
    await new Promise((resolve) => setTimeout(resolve, DESCRIPTOR_IDLE_MS + 200));
    expect(sync.opened).toBeUndefined();
    await write('3\n');
    expect(sync.opened?.ino).toBe((await stat(folder)).ino);
    expect(await readFile(join(folder, 'a.json'), 'utf8')).toBe('3\n');
  });
});

describe('temp files a killed writer left beside a target', () => {
  it("the next writeFileDurable to that target removes its dead writers' old ones, and nothing else", async () => {
    const dir = await tempDir();
    const target = join(dir, 'state.json');
    const deadPid = 2 ** 22 + 1;
    const old = new Date(Date.now() - LEFTOVER_MIN_AGE_MS - 60_000);
    const names = {
      deadOld: `state.json.${deadPid}.abcdef000001.tmp`,
      deadYoung: `state.json.${deadPid}.abcdef000002.tmp`,
      live: `state.json.${process.ppid}.abcdef000003.tmp`,
      otherTarget: `state.json.bak.${deadPid}.abcdef000004.tmp`,
      notOurs: `state.json.${deadPid}.tmp`,
    };
    for (const [key, name] of Object.entries(names)) {
      await writeFile(join(dir, name), 'half');
      if (key !== 'deadYoung') await utimes(join(dir, name), old, old);
    }
    await writeFileDurable(target, '{}\n');
    expect((await readdir(dir)).sort()).toEqual([names.deadYoung, names.live, names.notOurs, names.otherTarget, 'state.json'].sort());
    // Asked for the whole folder, the other target's dead old one goes too.
    expect(sweepDeadTemps(dir)).toBe(1);
    expect(await readdir(dir)).not.toContain(names.otherTarget);
  });
});

// A rename the disk refused (ENOSPC, here a folder at the target) left the AtomicFileWriter's temp file
// behind (written.json's, under a rollback or dual-write enable on a full disk, 1 of 1 runs): room a full
// disk needs, held until a sweep of temps whose process is gone, at least 10 minutes later.
describe('AtomicFileWriter, a replace that fails before its rename', () => {
  it('removes its temp file and leaves the target as it was', async () => {
    const dir = await tempDir();
    const target = join(dir, 'written.json');
    await mkdir(join(target, 'inside'), { recursive: true });
    const writer = AtomicFileWriter.create(target);
    await writer.append('new\n');
    await expect(writer.replace()).rejects.toMatchObject({ code: 'NOT_A_FILE', file: target });
    expect(await readdir(join(dir, '.deploystate', 'tmp'))).toEqual([]);
    expect(await readdir(target)).toEqual(['inside']);
  });
});

// A full disk while a large file was written in pieces (the migrator's written.json) reached the
// operator as `DISK_FULL: ENOSPC: no space left on device, write`, naming no file: a write() to a
// descriptor carries no path. Here a file size limit fails the write the same way (EFBIG).
describe('AtomicFileWriter, a write the file system refuses', () => {
  it.skipIf(process.platform === 'win32')('fails with a StateError naming the target, which stays as it was', async () => {
    const dir = await tempDir();
    const target = join(dir, 'written.json');
    await writeFile(target, 'before\n');
    const script = `
      import { AtomicFileWriter } from ${JSON.stringify(new URL('../dist/atomic.js', import.meta.url).href)};
      const writer = AtomicFileWriter.create(process.argv[1]);
      try {
        await writer.append(Buffer.alloc(64 * 1024, 120));
        console.log(JSON.stringify({ ok: true }));
      } catch (error) {
        await writer.discard();
        console.log(JSON.stringify({ name: error.name, code: error.code, file: error.file }));
      }`;
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('bash', ['-c', 'ulimit -S -f 8 && exec "$0" "$@"', process.execPath, '--input-type=module', '-e', script, target], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ name: 'StateError', code: 'WRITE_FAILED', file: target });
    expect(await readFile(target, 'utf8')).toBe('before\n');
  });
});

// The temp file could not even be made (no inode left, a read-only file system): the error named the
// temp file (`.deploystate/tmp/written.json.<pid>.<n>.tmp`), which the operator never heard of.
describe('AtomicFileWriter, a temp file the file system refuses to create', () => {
  it('fails with a StateError naming the target, the temp file kept as detail', async () => {
    const dir = await tempDir();
    const target = join(dir, 'written.json');
    // A file where the temp folder belongs: the temp file cannot be created there.
    await mkdir(join(dir, '.deploystate'));
    await writeFile(join(dir, '.deploystate', 'tmp'), '');
    let failed: unknown;
    try {
      AtomicFileWriter.create(target);
    } catch (error) {
      failed = error;
    }
    expect(failed).toMatchObject({ name: 'StateError', file: target, data: { tempFile: expect.stringContaining(join(dir, '.deploystate', 'tmp', 'written.json.')) } });
    expect((failed as Error).message).toMatch(new RegExp(`^could not write the new version of ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});
