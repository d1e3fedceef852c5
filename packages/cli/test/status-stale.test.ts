// status after a phase change cut off half-way, with LevelDB unopenable, and with a damaged journal
// line: what it shows stays true (no evidence from a migration that was left), it says what it
// cannot tell instead of failing, and it names what readiness and the report count.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore } from '@deploystate/migrator';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-status-stale-', { demo: false });

interface StatusDoc {
  phase: string;
  state: { copy: unknown; lastVerify: unknown };
  journal: { torn: number };
  leveldbUnreadable?: { code: string };
  leftBehindUnknown?: { code: string };
}

describe('status in leveldb-only after a dual-write disable cut off after phase.json', () => {
  it('shows no copy or verify of the migration left, and names a damaged journal line that readiness and the report count', async () => {
    const dir = await sampleAt(join(fixture.root, 'cut-off-disable'), [
      ['dual-write', 'enable'],
      ['migrate', '--exclude', '31337-LookCoin', '--exclude', '31337-TestToken'],
      ['verify'],
    ]);
    // What a disable killed between its two files leaves: phase.json says leveldb-only, state.json
    // still holds the copy, the verify and the dual-write start.
    const phaseFile = join(dir, '.deploystate', 'phase.json');
    await writeFile(phaseFile, (await readFile(phaseFile, 'utf8')).replace('"dual-write"', '"leveldb-only"'));
    const env = { COLUMNS: '70' };

    const json = onlyDocument(await deploystate(['status', '--json'], { cwd: dir, env })) as unknown as StatusDoc;
    expect(json.phase).toBe('leveldb-only');
    expect(json.state).toMatchObject({ copy: null, lastVerify: null });
    const text = await deploystate(['status'], { cwd: dir, env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/last verify\s+never/);
    expect(text.stdout).not.toMatch(/^copy\s/m);

    // A line in the middle of the journal that holds no entry: counted, and said.
    const journal = join(dir, '.deploystate', 'journal.ndjson');
    const lines = (await readFile(journal, 'utf8')).split('\n');
    lines.splice(1, 0, '{"type":"intent","seq": garbage');
    await writeFile(journal, lines.join('\n'));
    expect((onlyDocument(await deploystate(['status', '--json'], { cwd: dir, env })) as unknown as StatusDoc).journal.torn).toBe(1);
    const damaged = await deploystate(['status'], { cwd: dir, env });
    expect(damaged.stdout).toContain('1 line(s) hold no entry');
  });
});

describe("status after a teammate's rollback, pulled, with this clone's LevelDB unopenable", () => {
  it('says LevelDB cannot be opened and that writes left behind are unknown, instead of failing', async () => {
    const a = join(fixture.root, 'a');
    const b = join(fixture.root, 'b');
    await sampleAt(a, [], 'migrate --demo');
    await cp(a, b, { recursive: true });
    // A writes on the JSON side; B rolls back; A pulls B's phase file: A's write is left behind.
    const store = createStateStore({ cwd: a, env: {} });
    await store.open();
    await store.put(sampleRecord(97, 'FromA', 'bsctestnet', 1)).finally(() => store.close());
    expect((await deploystate(['rollback', '--emergency', '--yes'], { cwd: b })).code).toBe(0);
    await cp(join(b, '.deploystate', 'phase.json'), join(a, '.deploystate', 'phase.json'));
    // The pull brought a LevelDB that cannot be opened (its CURRENT lost, as a bad checkout leaves it).
    await rm(join(a, 'leveldb', 'CURRENT'));
    const env = { COLUMNS: '70' };
    const json = await deploystate(['status', '--json'], { cwd: a, env });
    expect(json.code, json.stderr).toBe(0);
    const doc = onlyDocument(json) as unknown as StatusDoc;
    expect(doc.phase).toBe('leveldb-only');
    expect(doc.leveldbUnreadable).toBeDefined();
    expect(doc.leftBehindUnknown).toMatchObject({ code: doc.leveldbUnreadable?.code });
    const text = await deploystate(['status'], { cwd: a, env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('cannot be opened');
    expect(text.stdout).toMatch(/left behind\s+unknown/);
  });
});

