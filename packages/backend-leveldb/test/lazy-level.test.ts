// `level` (and its native binding) is loaded by the first open, never by importing the package: a
// deploy script that never opens LevelDB (json-only) does not pay for loading it (about 15 ms).
// Runs the built package (turbo builds it before the tests).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { storeFolderPerTest } from './helpers.js';

const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const folder = storeFolderPerTest('lazy-level');

describe('loading the package', () => {
  it('does not load level; the first open does', () => {
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => /[\\\\/]classic-level[\\\\/]/.test(path));
      const { LevelDbStore } = await import(${JSON.stringify(INDEX)});
      const afterImport = loaded();
      const store = new LevelDbStore({ path: process.argv[1], create: true, idleCloseMs: 0 });
      await store.open();
      await store.close();
      console.log(JSON.stringify({ afterImport, afterOpen: loaded() }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, folder.path], { encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ afterImport: false, afterOpen: true });
  });
});
