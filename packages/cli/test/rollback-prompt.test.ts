// The rollback's confirmation counts what it carries back: the writes journalled since dual-write
// enable, not the whole journal (outcomes, events, and writes journalled before that enable).
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { sampleRecord } from '@deploystate/core';
import { childEnv, deploystate, onlyDocument, runSteps, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rollback-prompt-');
const migrator = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/migrator')).href;
const core = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/core')).href;

/** A deploy script: puts sampleRecord(97, name, 'bsctestnet', version) for each `name:version` argument. */
const WRITER = `
import { createStateStore } from ${JSON.stringify(migrator)};
import { sampleRecord } from ${JSON.stringify(core)};
const store = createStateStore({ cwd: process.argv[2], env: process.env });
for (const arg of process.argv.slice(3)) {
  const [name, version] = arg.split(':');
  await store.putContract(97, sampleRecord(97, name, 'bsctestnet', Number(version)));
}
await store.close();
`;

async function write(dir: string, writes: string[], env: Record<string, string> = {}): Promise<void> {
  const script = join(fixture.root, 'writer.mjs');
  await writeFile(script, WRITER);
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [script, dir, ...writes], { stdio: 'inherit', env: childEnv(env) }).on('exit', resolve),
  );
  expect(code).toBe(0);
}

describe('rollback confirmation', () => {
  it('names the writes and keys journalled since dual-write enable, not the journal\'s entries', async () => {
    const dir = fixture.sample;
    // Journalled before dual-write enable (DUAL_WRITE_MODE in leveldb-only): not this migration's.
    await write(dir, ['Before:1', 'Before:2', 'Earlier:1'], { DUAL_WRITE_MODE: 'true' });
    await runSteps(dir, [['dual-write', 'enable']]);
    await write(dir, ['Token:1', 'Token:2', 'Router:1']);
    // No terminal and no --yes: the plan is printed, then refused (exit 2), nothing changed.
    const run = await deploystate(['rollback'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr.replace(/\s+/g, ' ')).toMatch(/replay into LevelDB every write journalled since dual-write enable \(journal seq > \d+: 3 write\(s\) to 2 key\(s\)\)/);
    // From dual-write nothing LevelDB holds is changed or deleted: the prompt said records would be.
    expect(run.stderr.replace(/\s+/g, ' ')).toContain('change or delete no record LevelDB holds');
    expect(run.stderr).not.toContain('deleted from LevelDB');
  }, 60_000);

  it('from json-only says what it deletes, and an emergency names the network file it could not read', async () => {
    const acknowledge = ['31337-LookCoin', '31337-TestToken', 'MISSING_IMPLEMENTATION_HASH'].flatMap((key) => ['--acknowledge', key]);
    const dir = await sampleAt(join(fixture.root, 'json-only'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote'], ['cutover', ...acknowledge]]);
    const asked = await deploystate(['rollback'], { cwd: dir });
    expect(asked.stderr.replace(/\s+/g, ' ')).toContain('records JSON no longer holds are deleted from LevelDB');
    // A teammate's write pulled into the file (in no local journal), then a pull that stopped with
    // git's markers in it.
    const damaged = join(dir, 'deployments', 'bsctestnet.json');
    const json = new JsonFileStore({ dir: join(dir, 'deployments') });
    await json.open();
    await json.put(sampleRecord(97, 'PulledFromTeammate', 'bsctestnet', 3));
    await json.close();
    const whole = await readFile(damaged, 'utf8');
    await writeFile(damaged, `<<<<<<< HEAD\n${whole}=======\n{}\n>>>>>>> theirs\n`);
    // The phase switches, but the rollback is not whole: exit 1, never taken for success by a script.
    const run = await deploystate(['rollback', '--emergency', '--yes'], { cwd: dir, env: { COLUMNS: '70' } });
    expect(run.code, run.stderr).toBe(1);
    const said = run.stdout.replace(/\s+/g, ' ');
    expect(said).toContain('bsctestnet.json (MERGE_CONFLICT)');
    expect(said).toContain('deploystate merge-resolve');
    expect(said).toContain('deploystate import json.ndjson');
    expect(said).toContain('not all of JSON');
    // The runbook's check after it fails while LevelDB lacks what the file holds, and passes once
    // the file is mended and imported as the rollback said.
    const check = ['status', '--expect', 'leveldb-only'];
    // Run again, the rollback does not say LevelDB holds every write either.
    const again = await deploystate(['rollback', '--emergency', '--yes'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stdout.replace(/\s+/g, ' ')).toContain('could not carry back 1 JSON entry');
    const unreadable = await deploystate(check, { cwd: dir, env: { COLUMNS: '70' } });
    expect(unreadable.code).toBe(1);
    expect(onlyDocument(await deploystate(['status', '--json'], { cwd: dir })).phase).toBe('leveldb-only');
    expect(unreadable.stdout.replace(/\s+/g, ' ')).toMatch(/bsctestnet\.json still cannot be read \(MERGE_CONFLICT\)/);
    await writeFile(damaged, whole);
    const mended = await deploystate(check, { cwd: dir });
    expect(mended.code).toBe(1);
    expect(mended.stdout.replace(/\s+/g, ' ')).toContain('1 record(s) of');
    expect(mended.stdout).toContain('97-PulledFromTeammate');
    await runSteps(dir, [['export', 'json.ndjson', '--from', 'json'], ['import', 'json.ndjson']]);
    const imported = await deploystate(check, { cwd: dir });
    expect(imported.code, imported.stdout).toBe(0);
    expect(imported.stdout).not.toContain('not carried');
  }, 90_000);
});

describe('rollback run again in leveldb-only', () => {
  it('after a whole rollback reads no status: the state recorded nothing left out of LevelDB', async () => {
    const dir = await sampleAt(join(fixture.root, 'rolled-back'), [['dual-write', 'enable'], ['rollback']]);
    // A journal no one can read (a folder in its place) fails status, which reads it whole: a
    // rollback that asked status whether anything is still not carried back would fail with it.
    const journal = join(dir, '.deploystate', 'journal.ndjson');
    await rm(journal);
    await mkdir(journal);
    const status = await deploystate(['status', '--json'], { cwd: dir });
    expect(onlyDocument(status)).toMatchObject({ ok: false, error: { code: 'NOT_A_FILE' } });
    const again = await deploystate(['rollback'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('holds every write');
  }, 60_000);
});
