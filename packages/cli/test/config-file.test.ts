// deploystate.config.json through the CLI, as real processes: a malformed file is a usage error
// naming the file and where the JSON breaks (never a damaged-record error), and commands that record
// a decision in it at the same moment each keep the others' change.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-config-', { demo: false });
let copies = 0;
let sample = '';
const configFile = (): string => join(sample, 'deploystate.config.json');
const inSample = (args: string[]) => deploystate(args, { cwd: sample });

// Each test has a sample of its own with the config `init` wrote.
beforeEach(async () => {
  sample = await sampleAt(join(fixture.root, `sample-${++copies}`), [['init']]);
});

describe('a malformed deploystate.config.json', () => {
  it('is INVALID_CONFIG (exit 2) naming the file and the position, for a reading and a recording command, and is left as it is', async () => {
    const good = await readFile(configFile(), 'utf8');
    const broken = '{\n  "leveldb": "./leveldb",\n';
    await writeFile(configFile(), broken);
    try {
      for (const args of [['status'], ['exclude', '31337-Junk']]) {
        const json = await inSample([...args, '--json']);
        expect(json.code, json.stderr).toBe(2);
        const { error } = onlyDocument(json) as { error: Record<string, unknown> };
        expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: configFile(), position: { line: 3 } });
        const text = await inSample(args);
        expect(text.code).toBe(2);
        expect(text.stderr).toContain('INVALID_CONFIG');
        expect(text.stderr).toContain(configFile());
        expect(await readFile(configFile(), 'utf8')).toBe(broken);
      }
    } finally {
      await writeFile(configFile(), good);
    }
  });
});

describe('a deploystate.config.json that names one key twice (a merge resolved by keeping both lines)', () => {
  it('is DUPLICATE_KEY naming the file and the second one, for reading and recording commands and createStateStore; no value is dropped', async () => {
    const good = await readFile(configFile(), 'utf8');
    const twice = good.replace('"exclude": [', '"exclude": ["31337-TestToken"],\n  "exclude": [');
    expect(twice).not.toBe(good);
    const line = twice.split('\n').findIndex((l, i, all) => l.includes('"exclude"') && all.slice(0, i).some((x) => x.includes('"exclude"'))) + 1;
    await writeFile(configFile(), twice);
    try {
      for (const args of [['status'], ['exclude', '31337-LookCoin', '--yes']]) {
        const json = await inSample([...args, '--json']);
        expect(json.code, json.stderr).toBe(4);
        const { error } = onlyDocument(json) as { error: Record<string, unknown> };
        expect(error).toMatchObject({ code: 'DUPLICATE_KEY', file: configFile(), position: { line, column: 3 } });
        expect(await readFile(configFile(), 'utf8')).toBe(twice);
      }
      const { createStateStore } = await import('@deploystate/migrator');
      expect(() => createStateStore({ cwd: sample, env: {} })).toThrow(expect.objectContaining({ code: 'DUPLICATE_KEY', file: configFile() }));
    } finally {
      await writeFile(configFile(), good);
    }
  });
});

describe('a deploystate.config.json with a key the tool does not know (a typo for a path)', () => {
  it('is INVALID_CONFIG naming the key, where it is and the key meant, for every command and createStateStore alike', async () => {
    const good = await readFile(configFile(), 'utf8');
    // Read as given, the default ./leveldb would be opened and the store at ./db never seen.
    const typo = good.replace('"leveldb": ', '"levelDb": "./db",\n  "leveldb": ');
    expect(typo).not.toBe(good);
    await writeFile(configFile(), typo);
    try {
      for (const args of [['status'], ['verify'], ['exclude', '31337-Junk', '--yes']]) {
        const json = await inSample([...args, '--json']);
        expect(json.code, json.stderr).toBe(2);
        const { error } = onlyDocument(json) as { error: Record<string, unknown> };
        expect(error).toMatchObject({ code: 'INVALID_CONFIG', file: configFile(), position: { line: 2, column: 3 } });
        expect(error.message).toContain('"levelDb"');
        expect(error.message).toContain('did you mean "leveldb"');
        expect(await readFile(configFile(), 'utf8')).toBe(typo);
      }
      const { createStateStore } = await import('@deploystate/migrator');
      expect(() => createStateStore({ cwd: sample, env: {} })).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', file: configFile(), message: expect.stringContaining('did you mean "leveldb"') }),
      );
      // A wrong shape is refused by both too, not by the CLI alone.
      await writeFile(configFile(), good.replace('"exclude": []', '"exclude": [1]'));
      const status = await inSample(['status', '--json']);
      expect(status.code, status.stderr).toBe(2);
      expect(() => createStateStore({ cwd: sample, env: {} })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', file: configFile() }));
    } finally {
      await writeFile(configFile(), good);
    }
  });
});

describe('a deploystate.config.json saved with a UTF-8 byte-order mark', () => {
  it('is read as without it, and a recorded decision keeps the mark (the file stays byte-stable)', async () => {
    const good = await readFile(configFile(), 'utf8');
    await writeFile(configFile(), `\uFEFF${good}`);
    try {
      const status = await inSample(['status', '--json']);
      expect(status.code, status.stderr).toBe(0);
      const { createStateStore } = await import('@deploystate/migrator');
      await createStateStore({ cwd: sample, env: {} }).close();
      const excluded = await inSample(['exclude', '31337-Junk', '--yes']);
      expect(excluded.code, excluded.stderr).toBe(0);
      const after = await readFile(configFile(), 'utf8');
      expect(after.startsWith('\uFEFF{')).toBe(true);
      expect(after).toContain('31337-Junk');
    } finally {
      await writeFile(configFile(), good);
    }
  });
});

describe('a deploystate.config.json in tabs and CRLF (a formatter, a Windows checkout)', () => {
  it('keeps its indent and line ends through a recorded decision, so git shows only the decision', async () => {
    const good = await readFile(configFile(), 'utf8');
    const styled = (text: string): string => `${JSON.stringify(JSON.parse(text), null, '\t')}\n`.replace(/\n/g, '\r\n');
    await writeFile(configFile(), styled(good));
    try {
      const excluded = await inSample(['exclude', '31337-Junk', '--yes']);
      expect(excluded.code, excluded.stderr).toBe(0);
      const after = await readFile(configFile(), 'utf8');
      expect(JSON.parse(after)).toMatchObject({ exclude: expect.arrayContaining(['31337-Junk']) });
      expect(after).toBe(styled(after));
    } finally {
      await writeFile(configFile(), good);
    }
  });
});

describe('recording decisions at the same moment', () => {
  it('keeps every key of parallel `exclude` runs', async () => {
    const processes = 4;
    for (let round = 1; round <= 3; round++) {
      const keys = Array.from({ length: processes }, (_, i) => `31337-Race${round}x${i}`);
      const runs = await Promise.all(keys.map((key) => inSample(['exclude', key])));
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      const config = JSON.parse(await readFile(configFile(), 'utf8')) as { exclude?: string[] };
      expect(config.exclude, `round ${round}`).toEqual(expect.arrayContaining(keys));
    }
  });
});
