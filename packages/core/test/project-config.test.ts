// The project's deploystate.config.json as deploy scripts and the CLI read it: JSON that does not
// parse is a config to fix by hand (INVALID_CONFIG naming the file and where it breaks), never a
// damaged record (CORRUPTED, whose hint points at backups).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes } from '../src/errors.js';
import { makeTempDir, removeTempDir } from '../src/testing/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, readProjectConfig } from '../src/project-config.js';
import { LOCK_WAIT_ENV, lockWaitMsFromEnv, projectLockWaitMs } from '../src/lock-wait.js';
import { MAX_JSON_DEPTH } from '../src/codec.js';
import { thrown } from './thrown.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('deploystate-project-config-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('readProjectConfig', () => {
  it('a config whose JSON breaks is INVALID_CONFIG with the file and the position', async () => {
    const file = join(dir, 'deploystate.config.json');
    await writeFile(file, '{\n  "leveldb": "./leveldb",\n');
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.file).toBe(file);
    expect(error.position?.line).toBe(3);
  });

  // Before: a raw RangeError (Maximum call stack size exceeded) from the key count, 1 of 1 runs.
  it('a config nested thousands of levels deep is INVALID_CONFIG naming the file and where, not a crash', async () => {
    const file = join(dir, 'deploystate.config.json');
    await writeFile(file, `{\n  "rpc": ${'['.repeat(6_000)}${']'.repeat(6_000)}\n}\n`);
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.file).toBe(file);
    // The top-level object is the first level: the bracket that opens level MAX_JSON_DEPTH + 1.
    expect(error.position).toMatchObject({ line: 2, column: 9 + MAX_JSON_DEPTH });
  });

  it('a folder in the config\'s place is INVALID_CONFIG saying so, never taken for no config', async () => {
    const inner = join(dir, 'folder-config');
    await mkdir(join(inner, 'deploystate.config.json'), { recursive: true });
    const error = thrown(() => readProjectConfig(inner));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_CONFIG, file: join(inner, 'deploystate.config.json') });
    expect(error.message).toContain('it is a folder, not a file');
    expect(error.message).not.toContain('EISDIR');
  });

  it('text that is JSON but not an object is INVALID_CONFIG too', () => {
    expect(thrown(() => parseConfigText('[1]', 'x.json')).code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(parseConfigText('{ "exclude": [] }', 'x.json')).toEqual({ exclude: [] });
  });

  it('a key it does not know is INVALID_CONFIG naming it, where it is and the key meant', async () => {
    const file = join(dir, 'deploystate.config.json');
    await writeFile(file, '{\n  "networks": [{ "deployment": 1 }],\n  "deployment": "./deploy",\n  "stateDir": "./s"\n}\n');
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.file).toBe(file);
    expect(error.position).toMatchObject({ line: 3, column: 3 });
    expect(error.message).toContain('unknown key "deployment"');
    expect(error.message).toContain('did you mean "deployments"?');
    await writeFile(file, '{ "levelDb": "./db" }');
    expect(thrown(() => readProjectConfig(dir)).message).toContain('did you mean "leveldb"?');
    await writeFile(file, '{ "color": "blue" }');
    expect(thrown(() => readProjectConfig(dir)).hint).toContain('leveldb, deployments, stateDir');
  });

  it('a key a networks or acknowledge entry does not know is INVALID_CONFIG naming its path, where it is and the key meant', async () => {
    const file = join(dir, 'deploystate.config.json');
    await writeFile(
      file,
      '{\n  "networks": [\n    { "chainId": 56, "name": "bsc", "tier": "mainnet" },\n    { "chainId": 97, "name": "chapel", "alias": ["bsct"], "tier": "testnet" }\n  ]\n}\n',
    );
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.file).toBe(file);
    expect(error.position).toMatchObject({ line: 4, column: 40 });
    expect(error.message).toContain('unknown key "networks[1].alias"');
    expect(error.message).toContain('did you mean "aliases"?');
    const digest = '0'.repeat(64);
    await writeFile(
      file,
      JSON.stringify({ acknowledge: [{ file: 'bsc.json', key: '56-A', code: 'MISSING_IMPLEMENTATION_HASH', digest, notes: 'ok' }] }),
    );
    expect(thrown(() => readProjectConfig(dir))).toMatchObject({
      code: ErrorCodes.INVALID_CONFIG,
      file,
      message: expect.stringContaining('"acknowledge[0].notes"'),
    });
    expect(thrown(() => readProjectConfig(dir)).message).toContain('did you mean "note"?');
    // The same entries with the keys spelt right are read.
    await writeFile(
      file,
      JSON.stringify({
        networks: [{ chainId: 97, name: 'chapel', aliases: ['bsct'], tier: 'testnet' }],
        acknowledge: [{ file: 'bsc.json', key: '56-A', code: 'MISSING_IMPLEMENTATION_HASH', digest, note: 'ok' }],
      }),
    );
    expect(readProjectConfig(dir)).toMatchObject({ networks: [{ aliases: ['bsct'] }], acknowledge: [{ note: 'ok' }] });
  });

  it('many unknown keys: the first named where it is, five more by name, and how many in all', async () => {
    const file = join(dir, 'deploystate.config.json');
    const typos = Array.from({ length: 2_000 }, (_, i) => `"typo${i}": 1`).join(',\n  ');
    await writeFile(file, `{\n  ${typos}\n}\n`);
    const error = thrown(() => readProjectConfig(dir));
    expect(error.code).toBe(ErrorCodes.INVALID_CONFIG);
    expect(error.message).toContain('unknown key "typo0" at line 2');
    expect(error.message).toContain('(and 1999 more unknown key(s): "typo1", "typo2", "typo3", "typo4", "typo5", ...)');
    expect(error.message).not.toContain('"typo6"');
  });

  it('a field of the wrong shape is INVALID_CONFIG for deploy scripts as for the CLI', async () => {
    const file = join(dir, 'deploystate.config.json');
    for (const fields of [
      { exclude: [1] },
      { exclude: '56-A' },
      { projectChecks: { a: '' } },
      { acknowledge: {} },
      { rpc: 'http://x' },
      { networks: [{ chainId: 'x' }] },
    ]) {
      await writeFile(file, JSON.stringify(fields));
      expect(
        thrown(() => readProjectConfig(dir)),
        JSON.stringify(fields),
      ).toMatchObject({ code: ErrorCodes.INVALID_CONFIG, file });
    }
  });

  it('a field of the wrong shape is INVALID_CONFIG naming the file, the field and where it stands, as an unknown key is', async () => {
    const file = join(dir, 'deploystate.config.json');
    for (const [field, value, says] of [
      ['leveldb', '5', 'leveldb must be a path'],
      ['exclude', '"56-A"', 'exclude must be an array of strings'],
      ['networks', '{}', 'networks must be an array'],
      ['projectChecks', '[]', 'projectChecks must map'],
      ['rpc', '"x"', 'rpc must map'],
    ] as const) {
      // The field on line 3, after a good one.
      await writeFile(file, `{\n  "deployments": "./deployments",\n  "${field}": ${value}\n}\n`);
      const error = thrown(() => readProjectConfig(dir));
      expect(error, field).toMatchObject({ code: ErrorCodes.INVALID_CONFIG, file, position: { line: 3, column: 3 }, data: { field } });
      expect((error as Error).message, field).toContain(`${file}: ${says}`);
      expect((error as Error).message, field).toContain('(line 3, column 3)');
    }
  });

  it('leveldbSync is true or false; anything else is INVALID_CONFIG naming it and the file', async () => {
    const file = join(dir, 'deploystate.config.json');
    for (const value of [true, false]) {
      await writeFile(file, JSON.stringify({ leveldbSync: value }));
      expect(readProjectConfig(dir).leveldbSync).toBe(value);
    }
    await writeFile(file, '{}');
    expect(readProjectConfig(dir).leveldbSync).toBeUndefined();
    for (const text of ['"true"', '1', 'null', '[true]']) {
      await writeFile(file, `{ "leveldbSync": ${text} }`);
      const error = thrown(() => readProjectConfig(dir));
      expect(error.code, text).toBe(ErrorCodes.INVALID_CONFIG);
      expect(error.message).toContain('leveldbSync must be true or false');
      expect(error.file).toBe(file);
    }
  });

  it("lockWaitMs is the file's whole number of milliseconds; anything else is INVALID_CONFIG naming it and the file", async () => {
    const file = join(dir, 'deploystate.config.json');
    for (const ms of [0, 1, 15_000, Number.MAX_SAFE_INTEGER]) {
      await writeFile(file, JSON.stringify({ lockWaitMs: ms }));
      expect(readProjectConfig(dir).lockWaitMs, String(ms)).toBe(ms);
    }
    await writeFile(file, '{}');
    expect(readProjectConfig(dir).lockWaitMs).toBeUndefined();
    // Written as text, not through JSON.stringify: 1.0, 1e3 and a number past 2^53 stay as typed.
    for (const [text, shown] of [
      ['-1', '-1'],
      ['1.5', '1.5'],
      ['1e3', '1e3'],
      ['1.0', '1.0'],
      ['123456789012345678901234567890', '123456789012345678901234567890'],
      ['"15000"', '"15000"'],
      ['true', 'true'],
      ['null', 'null'],
      ['[15000]', 'an array'],
      ['{"ms": 1}', 'an object'],
    ]) {
      await writeFile(file, `{ "lockWaitMs": ${text} }`);
      const error = thrown(() => readProjectConfig(dir));
      expect(error, text).toMatchObject({ code: ErrorCodes.INVALID_CONFIG, file });
      // The file and where the field stands, in the message too (a script's e.message shows it all).
      expect((error as Error).message, text).toBe(`${file}: lockWaitMs must be a whole number of milliseconds >= 0, got ${shown} (line 1, column 3)`);
      expect(error, text).toMatchObject({ position: { line: 1, column: 3 }, data: { field: 'lockWaitMs' } });
    }
  });

  it('DEPLOYSTATE_LOCK_WAIT_MS is digits only, and a call\'s option wins over it, and it over the file', () => {
    expect(lockWaitMsFromEnv({})).toBeUndefined();
    expect(lockWaitMsFromEnv({ [LOCK_WAIT_ENV]: '' })).toBeUndefined();
    expect(lockWaitMsFromEnv({ [LOCK_WAIT_ENV]: '0' })).toBe(0);
    expect(lockWaitMsFromEnv({ [LOCK_WAIT_ENV]: '1500' })).toBe(1500);
    for (const raw of ['soon', '1e3', '0x10', '-5', '1.0', ' 15', '15 ', '99999999999999999999']) {
      expect(thrown(() => lockWaitMsFromEnv({ [LOCK_WAIT_ENV]: raw })), raw).toMatchObject({
        code: ErrorCodes.INVALID_ARGUMENT,
        message: `${LOCK_WAIT_ENV} must be a whole number of milliseconds >= 0 (digits only), got ${JSON.stringify(raw)}`,
      });
    }
    const env = { [LOCK_WAIT_ENV]: '1500' };
    expect(projectLockWaitMs(300, env, 20_000)).toBe(300);
    expect(projectLockWaitMs(undefined, env, 20_000)).toBe(1500);
    expect(projectLockWaitMs(undefined, {}, 20_000)).toBe(20_000);
    expect(projectLockWaitMs(undefined, {}, undefined)).toBeUndefined();
    // A malformed variable is refused even where the file sets a wait: it is not silently passed over.
    expect(thrown(() => projectLockWaitMs(undefined, { [LOCK_WAIT_ENV]: 'soon' }, 20_000))).toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('a leading UTF-8 byte-order mark is read past', async () => {
    expect(parseConfigText('\uFEFF{ "exclude": [] }', 'x.json')).toEqual({ exclude: [] });
    await writeFile(join(dir, 'deploystate.config.json'), '\uFEFF{ "leveldb": "./db", "exclude": ["56-A"] }');
    expect(readProjectConfig(dir)).toMatchObject({ leveldb: join(dir, 'db'), exclude: ['56-A'] });
    // Positions count from after the mark, as an editor shows them.
    await writeFile(join(dir, 'deploystate.config.json'), '\uFEFF{ "levelDb": "./db" }');
    expect(thrown(() => readProjectConfig(dir)).position).toMatchObject({ line: 1, column: 3 });
  });
});
