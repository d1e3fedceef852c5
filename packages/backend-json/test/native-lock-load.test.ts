// The lock module's first use, as a deploy script's process pays it: the installed
// fs-native-extensions' prebuilt binary is loaded directly (the package's own loader costs 10-15 ms),
// and the locks taken through it are the package's own: each mode excludes what the package's own
// API finds excluded.
import { execFileSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { acquireLock } from '../src/lock.js';
import { PREBUILT_LOCKS_VERSION, native } from '../src/native-lock.js';

const DIST_LOCK = pathToFileURL(fileURLToPath(new URL('../dist/lock.js', import.meta.url))).href;
const require = createRequire(import.meta.url);

interface PackageLocks {
  tryLock(fd: number, options?: { shared?: boolean }): boolean;
  unlock(fd: number): void;
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

describe('the lock module on first use', () => {
  it("takes a process's first lock without the package's loader, for the version whose binding it calls", async () => {
    dir = await makeTempDir('native-lock-');
    const script = [
      `import { acquireLock } from ${JSON.stringify(DIST_LOCK)};`,
      `import { createRequire } from 'node:module';`,
      `const lock = await acquireLock(process.argv[1]);`,
      `await lock.release();`,
      `console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('require-addon'))));`,
    ].join('\n');
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, join(dir, 'x.lock')], { encoding: 'utf8' })) as string[];
    // An upgrade of fs-native-extensions falls back to its loader: check its binding, then move PREBUILT_LOCKS_VERSION.
    expect((require('fs-native-extensions/package.json') as { version: string }).version).toBe(PREBUILT_LOCKS_VERSION);
    expect(loaded).toEqual([]);
  });

  it("takes locks that the package's own API finds held in the same modes", async () => {
    dir = await makeTempDir('native-lock-');
    const file = join(dir, 'modes.lock');
    const own = require('fs-native-extensions') as PackageLocks;
    // Another descriptor's try through the package itself (OFD locks: descriptors of one process exclude each other too).
    const grants = (shared: boolean): boolean => {
      const fd = openSync(file, 'r+');
      try {
        const got = own.tryLock(fd, { shared });
        if (got) own.unlock(fd);
        return got;
      } finally {
        closeSync(fd);
      }
    };
    const exclusive = await acquireLock(file, { mode: 'exclusive' });
    // The module took the binary directly, not the package's wrapper.
    expect(native).toBeDefined();
    expect(native).not.toBe(own);
    expect({ shared: grants(true), exclusive: grants(false) }).toEqual({ shared: false, exclusive: false });
    await exclusive.release();
    const shared = await acquireLock(file, { mode: 'shared' });
    expect({ shared: grants(true), exclusive: grants(false) }).toEqual({ shared: true, exclusive: false });
    await shared.release();
    expect({ shared: grants(true), exclusive: grants(false) }).toEqual({ shared: true, exclusive: true });
  });
});
