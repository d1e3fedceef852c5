// The project's deploystate.config.json as deploy scripts and the CLI read it: JSON that does not
// parse is a config to fix by hand (INVALID_CONFIG naming the file and where it breaks), never a
// damaged record (CORRUPTED, whose hint points at backups).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, readProjectConfig } from '../src/project-config.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('deploystate-project-config-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

function thrown(fn: () => unknown): StateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StateError) return error;
    throw error;
  }
  throw new Error('expected a StateError');
}

describe('readProjectConfig', () => {
  it('a config whose JSON breaks is INVALID_CONFIG with the file and the position', async () => {
    const file = join(dir, 'deploystate.config.json');
    await writeFile(file, '{\n  "leveldb": "./leveldb",\n');
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.file).toBe(file);
    expect(error.position?.line).toBe(3);
  });

  it('text that is JSON but not an object is INVALID_CONFIG too', () => {
    expect(thrown(() => parseConfigText('[1]', 'x.json')).code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(parseConfigText('{ "exclude": [] }', 'x.json')).toEqual({ exclude: [] });
  });
});
