// A real full disk for tests: a small tmpfs mounted at a fresh folder, where the host lets the test
// mount one (Linux, as root); elsewhere undefined, and the tests that need it are skipped.
import { execFileSync } from 'node:child_process';

/** A tmpfs of `size` (`mount`'s form: `64k`, `16m`) at a fresh folder under /tmp, or undefined where mounting is not allowed. */
export function mountSmallTmpfs(size: string, prefix = 'deploystate-tmpfs-'): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const dir = execFileSync('mktemp', ['-d', `/tmp/${prefix}XXXXXX`], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    execFileSync('rmdir', [dir]);
    return undefined;
  }
}

/** Unmounts what mountSmallTmpfs mounted (everything on it goes) and removes its folder. */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
  execFileSync('rmdir', [dir]);
}
