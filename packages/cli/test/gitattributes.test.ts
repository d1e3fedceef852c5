// The merge driver's .gitattributes line is added in the file's own line ends: a Windows
// checkout's CRLF file got one LF line, so every later edit there mixed the two.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { ensureMergeAttributes, mergeDriverConfigured, MERGE_DRIVER_CONFIG } from '../src/gitattributes.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

describe('ensureMergeAttributes', () => {
  for (const [name, before, after] of [
    ['a CRLF file ending with a line end', '*.sol linguist-language=Solidity\r\n', '*.sol linguist-language=Solidity\r\ndeployments/*.json merge=deploystate\r\n'],
    ['a CRLF file with no last line end', '* text=auto\r\n*.sol diff', '* text=auto\r\n*.sol diff\r\ndeployments/*.json merge=deploystate\r\n'],
    ['an LF file with no last line end', '* text=auto', '* text=auto\ndeployments/*.json merge=deploystate\n'],
  ] as const) {
    it(`adds its line to ${name} in the file's line ends, once`, async () => {
      dir = await makeTempDir('deploystate-gitattributes-');
      await writeFile(join(dir, '.gitattributes'), before);
      expect((await ensureMergeAttributes(dir, join(dir, 'deployments'))).status).toBe('added');
      expect(await readFile(join(dir, '.gitattributes'), 'utf8')).toBe(after);
      expect((await ensureMergeAttributes(dir, join(dir, 'deployments'))).status).toBe('present');
      expect(await readFile(join(dir, '.gitattributes'), 'utf8')).toBe(after);
    });
  }
});

describe('mergeDriverConfigured', () => {
  // init printed the git config lines on every run, also in a clone that had run them.
  it('is true only once this clone runs the lines init prints, and false outside a repository', async () => {
    dir = await makeTempDir('deploystate-merge-driver-');
    expect(await mergeDriverConfigured(dir)).toBe(false);
    const git = (args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
    git(['init', '-q']);
    expect(await mergeDriverConfigured(dir)).toBe(false);
    git(['config', 'merge.deploystate.driver', 'some other driver %O %A %B']);
    expect(await mergeDriverConfigured(dir)).toBe(false);
    // The lines as init prints them, run by the shell.
    for (const line of MERGE_DRIVER_CONFIG) execFileSync('sh', ['-c', line], { cwd: dir });
    expect(await mergeDriverConfigured(dir)).toBe(true);
  });
});
