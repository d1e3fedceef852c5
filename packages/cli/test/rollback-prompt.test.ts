// The rollback's confirmation counts what it carries back: the writes journalled since dual-write
// enable, not the whole journal (outcomes, events, and writes journalled before that enable).
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
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
    // A pull that stopped with git's markers in one network file.
    const damaged = join(dir, 'deployments', 'bsctestnet.json');
    await writeFile(damaged, `<<<<<<< HEAD\n${await readFile(damaged, 'utf8')}=======\n{}\n>>>>>>> theirs\n`);
    const run = await deploystate(['rollback', '--emergency', '--yes'], { cwd: dir, env: { COLUMNS: '70' } });
    expect(run.code, run.stderr).toBe(0);
    const said = run.stdout.replace(/\s+/g, ' ');
    expect(said).toContain('bsctestnet.json (MERGE_CONFLICT)');
    expect(said).toContain('deploystate merge-resolve');
    expect(said).toContain('deploystate import json.ndjson');
    const json = await deploystate(['status', '--json'], { cwd: dir });
    expect(onlyDocument(json).phase).toBe('leveldb-only');
  }, 60_000);
});
