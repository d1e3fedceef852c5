// The CLI on a real sample store: --json documents, exit codes for differing, locked and
// corrupted stores, export/import, destructive steps without a terminal.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import { describe, expect, it } from 'vitest';
import { childEnv, deploystate, envelopeOf, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-sample-');
const { inSample } = fixture;

/** Holds the LevelDB folder open from another process, the way a running deploy script does. */
async function holdLevelDb(path: string): Promise<ChildProcess> {
  const backend = createRequire(import.meta.url).resolve('@deploystate/backend-leveldb/package.json');
  const code = `
    import { createRequire } from 'node:module';
    const { ClassicLevel } = createRequire(process.env.BACKEND_PKG)('classic-level');
    const db = new ClassicLevel(process.env.DB_PATH, { createIfMissing: false });
    await db.open();
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    env: childEnv({ BACKEND_PKG: backend, DB_PATH: path }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.on('exit', (exitCode) => reject(new Error(`lock holder exited with ${exitCode}`)));
  });
  return child;
}

describe('on a sample store', () => {
  it('compare before the copy: exit 1, and --json lists what is missing with both digests and counts', async () => {
    const run = await inSample(['compare', '--json']);
    expect(run.code).toBe(1);
    const doc = onlyDocument(run);
    expect(doc.equal).toBe(false);
    expect((doc.leveldb as { count: number }).count).toBe(28);
    expect((doc.leveldb as { digest: string }).digest).toMatch(/^[0-9a-f]{64}$/);
    expect((doc.json as { digest: string }).digest).toMatch(/^[0-9a-f]{64}$/);
    expect((doc.missingInJson as Array<{ key: string }>).map((e) => e.key)).toContain('56-LookCoin');
    // Its code is STORES_DIFFER, and its hint does not send you to the command you ran.
    const failed = envelopeOf(run);
    expect(failed).toMatchObject({ ok: false, error: { code: 'STORES_DIFFER' } });
    expect(failed.ok ? '' : failed.error.hint).not.toContain('see `deploystate compare`');
  });

  it('while another process holds the LevelDB, export reads a snapshot and a write exits 3 (LOCKED)', async () => {
    const holder = await holdLevelDb(join(fixture.sample, 'leveldb'));
    const file = join(fixture.root, 'held.json');
    try {
      // Read-only commands read a consistent copy: a held LevelDB does not stop them.
      const exported = await inSample(['export', file, '--json']);
      expect(exported.code, exported.stderr).toBe(0);
      // A write needs the live store. A short lock wait: bounded either way; this only keeps the test from sitting out the default.
      const run = await inSample(['import', file, '--to', 'leveldb', '--yes', '--json'], { env: { DEPLOYSTATE_LOCK_WAIT_MS: '300' } });
      expect(run.code, run.stderr).toBe(3);
      expect((onlyDocument(run).error as { code: string }).code).toBe('LOCKED');
      const badWait = await inSample(['import', file, '--to', 'leveldb', '--yes'], { env: { DEPLOYSTATE_LOCK_WAIT_MS: 'soon' } });
      expect(badWait.code).toBe(2);
      expect(badWait.stderr).toContain('DEPLOYSTATE_LOCK_WAIT_MS');
      // The project's config sets the wait for every command; the variable wins over it.
      const config = join(fixture.sample, 'deploystate.config.json');
      const before = existsSync(config) ? await readFile(config, 'utf8') : undefined;
      const withWait = async (ms: number): Promise<void> =>
        writeFile(config, `${JSON.stringify({ ...(before === undefined ? {} : (JSON.parse(before) as object)), lockWaitMs: ms }, null, 2)}\n`);
      try {
        for (const [configured, env] of [
          [300, {}],
          [600_000, { DEPLOYSTATE_LOCK_WAIT_MS: '300' }],
        ] as const) {
          await withWait(configured);
          const started = Date.now();
          const waited = await inSample(['import', file, '--to', 'leveldb', '--yes', '--json'], { env });
          expect(waited.code, waited.stderr).toBe(3);
          const error = onlyDocument(waited).error as { code: string; message: string };
          expect(error.code).toBe('LOCKED');
          // 0.3 s asked for, not the default 15 s (nor the file's 10 minutes where the variable is set).
          expect(Number(/still locked after \d+ attempts over ([\d.]+) s/.exec(error.message)?.[1]), error.message).toBeGreaterThanOrEqual(0.3);
          expect(Date.now() - started).toBeLessThan(10_000);
        }
        await writeFile(config, '{ "lockWaitMs": "soon" }\n');
        const badConfig = await inSample(['import', file, '--to', 'leveldb', '--yes']);
        expect(badConfig.code).toBe(2);
        expect(badConfig.stderr).toContain('lockWaitMs must be a whole number of milliseconds');
      } finally {
        if (before === undefined) await rm(config, { force: true });
        else await writeFile(config, before);
      }
    } finally {
      holder.kill();
    }
  });

  it('dual-write enable, migrate, then status/analyze/compare/verify each print exactly one JSON document', async () => {
    expect((await inSample(['dual-write', 'enable', '--yes'])).code).toBe(0);
    const migrate = await inSample(['migrate', '--json', '--yes']);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(onlyDocument(migrate).copied).toBe(28);
    const status = await inSample(['status', '--json']);
    expect(status.code).toBe(0);
    expect(onlyDocument(status).phase).toBe('dual-write');
    const analyze = onlyDocument(await inSample(['analyze', '--json']));
    expect(analyze.total).toBe(28);
    const compare = await inSample(['compare', '--json']);
    expect(compare.code).toBe(0);
    expect(onlyDocument(compare).equal).toBe(true);
    const verify = await inSample(['verify', '--json']);
    expect(verify.code).toBe(0);
    expect(onlyDocument(verify).clean).toBe(true);
    // monitor reads the progress the copy left behind, without opening a store.
    const monitor = onlyDocument(await inSample(['monitor', '--once', '--json']));
    expect(monitor.progress).toMatchObject({ done: 28, total: 28 });
    expect(monitor.running).toBe(false);
  });

  it('a record changed on one side: compare exits 1 with the field-level difference', async () => {
    const store = new JsonFileStore({ dir: join(fixture.sample, 'deployments') });
    await store.open();
    const original = await store.get(56, 'LookCoin');
    expect(original).not.toBeNull();
    await store.put({ ...original!, address: '0x000000000000000000000000000000000000dEaD' });
    try {
      const run = await inSample(['compare', '--json']);
      expect(run.code).toBe(1);
      const differing = onlyDocument(run).differing as Array<{
        key: string;
        fields: Array<{ field: string; left: unknown; right: unknown }>;
      }>;
      expect(differing.map((d) => d.key)).toEqual(['56-LookCoin']);
      expect(differing[0]?.fields).toEqual([
        { field: 'address', left: original!.address, right: '0x000000000000000000000000000000000000dEaD' },
      ]);
    } finally {
      await store.put(original!);
      await store.close();
    }
    expect((await inSample(['compare'])).code).toBe(0);
  });

  it('a destructive step with no terminal and no --yes is refused with exit 2 and changes nothing', async () => {
    const run = await inSample(['rollback']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--yes');
    expect(onlyDocument(await inSample(['status', '--json'])).phase).toBe('dual-write');
  });

  it('export is lossless (big numbers keep every digit); import refuses a differing record unless --force', async () => {
    const file = join(fixture.root, 'state.ndjson');
    const exported = await inSample(['export', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('18446744073709551617');
    expect(text).toContain('-9007199254740993');
    expect(text.trim().split('\n')).toHaveLength(29);
    // Import writes straight into a store, so it is refused while the journal is active.
    expect((await inSample(['import', file, '--yes'])).code).toBe(1);
    const other = join(fixture.root, 'other');
    await sampleAt(other);
    const same = await deploystate(['import', file, '--json'], { cwd: other });
    expect(same.code, same.stderr).toBe(0);
    expect(onlyDocument(same).added).toBe(0);
    await writeFile(
      file,
      text.replace('"contractName":"LookCoin","chainId":56', '"contractName":"LookCoin","chainId":56,"note":"changed"'),
    );
    const refused = await deploystate(['import', file, '--yes'], { cwd: other });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('STORES_DIFFER');
    const forced = await deploystate(['import', file, '--force', '--yes', '--json'], { cwd: other });
    expect(forced.code, forced.stderr).toBe(0);
    const doc = onlyDocument(forced);
    expect(doc.overwritten).toBe(1);
    expect(existsSync(String(doc.backup))).toBe(true);
  });

  it('import refuses an export that names a key twice or gives one record key two values (DUPLICATE_KEY), and imports nothing', async () => {
    const other = join(fixture.root, 'dup-target');
    await sampleAt(other);
    const record = (address: string, extra = ''): string =>
      `{"contractName":"Imp9","chainId":56,"networkName":"bscmainnet","address":"${address}","factoryByteCodeHash":"0x"${extra},"timestamp":2}`;
    const header = '{"format":"deploystate-export","version":1}';
    const cases: Array<{ name: string; text: string; key?: string; line?: number }> = [
      // Two different records under one record key (a git merge of two exports): one would be dropped.
      { name: 'two-records.json', text: `{"format":"deploystate-export","version":1,"records":[\n${record(`0x${'0'.repeat(39)}1`)},\n${record(`0x${'0'.repeat(39)}3`)}]}\n`, key: '56-Imp9' },
      { name: 'two-records.ndjson', text: `${header}\n${record(`0x${'0'.repeat(39)}1`)}\n${record(`0x${'0'.repeat(39)}3`)}\n`, key: '56-Imp9' },
      // One record naming a field twice: a plain parse keeps the last value.
      { name: 'field-twice.ndjson', text: `${header}\n${record(`0x${'0'.repeat(39)}1`, `,"address":"0x${'0'.repeat(39)}3"`)}\n`, line: 2 },
    ];
    for (const { name, text, key, line } of cases) {
      const file = join(fixture.root, name);
      await writeFile(file, text);
      const run = await deploystate(['import', file, '--to', 'leveldb', '--yes', '--json'], { cwd: other });
      expect(run.code, `${name}: ${run.stderr}`).toBe(4);
      const error = onlyDocument(run).error as { code: string; file: string; key?: string; position?: { line: number } };
      expect(error.code, name).toBe('DUPLICATE_KEY');
      expect(error.file, name).toBe(file);
      if (key !== undefined) expect(error.key, name).toBe(key);
      if (line !== undefined) expect(error.position?.line, name).toBe(line);
    }
    const exported = join(fixture.root, 'dup-target.ndjson');
    const after = await deploystate(['export', exported, '--from', 'leveldb'], { cwd: other });
    expect(after.code, after.stderr).toBe(0);
    expect(await readFile(exported, 'utf8')).not.toContain('Imp9');
    // The same record listed twice is one record: added once.
    const twice = join(fixture.root, 'same-twice.ndjson');
    await writeFile(twice, `${header}\n${record(`0x${'0'.repeat(39)}1`)}\n${record(`0x${'0'.repeat(39)}1`)}\n`);
    const imported = await deploystate(['import', twice, '--to', 'leveldb', '--yes', '--json'], { cwd: other });
    expect(imported.code, imported.stderr).toBe(0);
    expect(onlyDocument(imported).added).toBe(1);
  });

  it('export never writes into the store or its state, and replaces an existing file only with --force', async () => {
    const stateFile = join(fixture.sample, 'deployments', 'bscmainnet.json');
    const before = await readFile(stateFile, 'utf8');
    for (const target of [stateFile, join(fixture.sample, 'deployments', 'new.json'), join(fixture.sample, 'leveldb', 'x.json'), join(fixture.sample, '.deploystate', 'state.json')]) {
      const refused = await inSample(['export', target, '--force', '--json']);
      expect(refused.code, target).toBe(2);
      expect(onlyDocument(refused).error).toMatchObject({ code: 'INVALID_ARGUMENT', file: target });
    }
    expect(await readFile(stateFile, 'utf8')).toBe(before);
    expect(existsSync(join(fixture.sample, 'deployments', 'new.json'))).toBe(false);
    expect(onlyDocument(await inSample(['status', '--json'])).phase).toBeDefined();

    const file = join(fixture.root, 'kept.json');
    await writeFile(file, 'the operator\'s own file\n');
    const kept = await inSample(['export', file, '--json']);
    expect(kept.code).toBe(2);
    expect(onlyDocument(kept).error).toMatchObject({ code: 'INVALID_ARGUMENT', file });
    expect(await readFile(file, 'utf8')).toBe("the operator's own file\n");
    const replaced = await inSample(['export', file, '--force']);
    expect(replaced.code, replaced.stderr).toBe(0);
    // A link is never replaced, --force or not: not one to a file, nor one to a device such as /dev/stdout.
    for (const [name, target] of [['to-file.json', file], ['to-device.json', '/dev/null']] as const) {
      const link = join(fixture.root, name);
      await symlink(target, link);
      const refused = await inSample(['export', link, '--force', '--json']);
      expect(refused.code, name).toBe(4);
      expect(onlyDocument(refused).error).toMatchObject({ code: 'NOT_A_FILE', file: link });
      expect((await lstat(link)).isSymbolicLink(), name).toBe(true);
      expect(await readlink(link)).toBe(target);
    }
    expect(await readFile(file, 'utf8')).toContain('"format": "deploystate-export"');
    const folder = await inSample(['export', fixture.root, '--force', '--json']);
    expect(folder.code).toBe(4);
    expect(onlyDocument(folder).error).toMatchObject({ code: 'NOT_A_FILE', file: fixture.root });
  });

  it('a truncated state file exits 4 (CORRUPTED) and names the file', async () => {
    const file = join(fixture.sample, 'deployments', 'bscmainnet.json');
    const before = await readFile(file, 'utf8');
    await writeFile(file, before.slice(0, before.length / 2));
    try {
      const run = await inSample(['export', join(fixture.root, 'from-json.json'), '--from', 'json', '--json']);
      expect(run.code, run.stderr).toBe(4);
      const error = onlyDocument(run).error as { code: string; file?: string };
      expect(error.code).toBe('CORRUPTED');
      expect(error.file).toContain('bscmainnet.json');
    } finally {
      await writeFile(file, before);
    }
  });
});
