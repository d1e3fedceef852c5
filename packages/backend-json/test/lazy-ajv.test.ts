// ajv is loaded by the first validation, never by importing the package: a deploy script or a CLI
// command that never validates a file does not pay for loading it (about 24 ms a process).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** In a fresh process: whether ajv is loaded after importing the package, and after one validation. */
function ajvLoaded(): { afterImport: boolean; afterValidation: boolean } {
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => /[\\\\/]ajv[\\\\/]/.test(path));
    const store = await import(${JSON.stringify(INDEX)});
    const afterImport = loaded();
    const findings = store.validateStateFile({ schemaVersion: 1 }, 'x.json');
    if (findings.length === 0) throw new Error('an invalid file passed validation');
    console.log(JSON.stringify({ afterImport, afterValidation: loaded() }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim()) as {
    afterImport: boolean;
    afterValidation: boolean;
  };
}

describe('loading the package', () => {
  it('does not load ajv; the first validation does', () => {
    expect(ajvLoaded()).toEqual({ afterImport: false, afterValidation: true });
  });
});
