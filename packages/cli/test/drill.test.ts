// `deploystate drill <scenario>` on real sample stores: every scenario passes on healthy data,
// fails (exit 1) on damaged data, and never changes a byte of the originals.
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { removeTempDir } from '@deploystate/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploystate, envelopeOf, onlyDocument, sampleAt, useSample } from './helpers.js';

interface DrillDocument {
  scenario: string;
  ok: boolean;
  copy: { path: string; kept: boolean };
  checks: Array<{ name: string; status: 'pass' | 'fail' | 'skip' | 'warn'; detail: string }>;
}

// `fresh` is the sample as `demo` makes it; `migrated` another one after dual-write enable and the copy.
const fixture = useSample('deploystate-cli-drill-');
let root: string;
let fresh: string;
let migrated: string;

/** sha256 of every file under `dir`: the originals must come out of a drill byte for byte. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else
        out[relative(dir, path)] = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

async function drill(cwd: string, args: string[]): Promise<{ code: number | null; doc: DrillDocument; stderr: string }> {
  const run = await deploystate(['drill', ...args, '--json'], { cwd });
  return { code: run.code, doc: onlyDocument(run) as unknown as DrillDocument, stderr: run.stderr };
}

// One run per scenario on the migrated sample, shared by the tests that read its checks (a drill
// only reads the originals, so a second run would prove nothing new); run on first use.
const onMigrated = new Map<string, ReturnType<typeof drill>>();
function drillMigrated(scenario: string): ReturnType<typeof drill> {
  let run = onMigrated.get(scenario);
  if (run === undefined) onMigrated.set(scenario, (run = drill(migrated, [scenario])));
  return run;
}

const statusOf = (doc: DrillDocument, name: string): string | undefined => doc.checks.find((c) => c.name.startsWith(name))?.status;

beforeAll(async () => {
  root = fixture.root;
  fresh = fixture.sample;
  migrated = join(root, 'migrated');
  // The same sample as `fresh`, migrated. The sample's dev-chain junk has invalid addresses: an
  // operator excludes it, as the README shows.
  await sampleAt(migrated, [['dual-write', 'enable'], ['migrate', '--exclude', '31337-LookCoin', '--exclude', '31337-TestToken']]);
});

describe('drill', () => {
  it('every scenario passes on the migrated sample, removes its copy and leaves the originals byte for byte', async () => {
    const before = await tree(migrated);
    for (const scenario of ['json-backend', 'cross-network', 'edge-cases', 'error-recovery']) {
      const { code, doc, stderr } = await drillMigrated(scenario);
      expect(code, `${scenario}: ${JSON.stringify(doc.checks.filter((c) => c.status === 'fail'))} ${stderr}`).toBe(0);
      expect(doc.ok).toBe(true);
      expect(doc.checks.filter((c) => c.status === 'pass').length, scenario).toBeGreaterThanOrEqual(3);
      await expect(readdir(doc.copy.path)).rejects.toThrow();
    }
    expect(await tree(migrated)).toEqual(before);
  });

  it('json-backend: user records come from the JSON files once migrated, from a LevelDB snapshot before', async () => {
    const after = (await drillMigrated('json-backend')).doc;
    expect(after.checks.find((c) => c.name === 'user records')).toBeUndefined();
    expect(after.checks.find((c) => c.name.startsWith('every user record'))?.detail).toContain('26 records');
    expect(statusOf(after, 'legacy contracts')).toBe('pass');
    const before = await tree(fresh);
    const { code, doc } = await drill(fresh, ['json-backend']);
    expect(code).toBe(0);
    expect(doc.checks.find((c) => c.name === 'user records')?.detail).toContain('28 records from a LevelDB snapshot');
    expect(await tree(fresh)).toEqual(before);
  });

  it('json-backend and edge-cases pass on a network file an editor saved with a byte-order mark, left byte for byte', async () => {
    const dir = join(root, 'with-bom');
    await cp(migrated, dir, { recursive: true });
    const file = join(dir, 'deployments', 'bsctestnet.json');
    await writeFile(file, `\uFEFF${await readFile(file, 'utf8')}`);
    const before = await tree(dir);
    for (const scenario of ['json-backend', 'edge-cases']) {
      const { code, doc, stderr } = await drill(dir, [scenario]);
      expect(code, `${scenario}: ${stderr}`).toBe(0);
      expect(doc.ok).toBe(true);
    }
    expect(await tree(dir)).toEqual(before);
  });

  it('json-backend fails (exit 1) when a state file holds an entry that is not a record', async () => {
    // A copy of the migrated sample (the state folder holds no absolute paths), damaged there.
    const dir = join(root, 'damaged');
    await cp(migrated, dir, { recursive: true });
    const file = join(dir, 'deployments', 'basesepolia.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, unknown> };
    doc.records.Broken = { contractName: 'Broken', address: 7 };
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    const bytes = await readFile(file, 'utf8');
    const { code, doc: result } = await drill(dir, ['json-backend']);
    expect(code).toBe(1);
    expect(result.ok).toBe(false);
    expect(statusOf(result, 'user records readable')).toBe('fail');
    expect(statusOf(result, 'deploy on every network')).toBe('fail');
    expect(await readFile(file, 'utf8')).toBe(bytes);
  });

  it('a finding about a file of the user names that file, never the copy (removed when the drill ends) it was found in', async () => {
    const dir = join(root, 'truncated');
    await cp(migrated, dir, { recursive: true });
    const file = join(dir, 'deployments', 'bscmainnet.json');
    await writeFile(file, '{"chainId": 56, "records": {');
    const aborted = envelopeOf(await deploystate(['drill', 'json-backend', '--json'], { cwd: dir }));
    expect(aborted.ok).toBe(false);
    const error = (aborted as unknown as { error: { code: string; message: string; file?: string } }).error;
    expect(error.code).toBe('CORRUPTED');
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
    const cross = await drill(dir, ['cross-network']);
    expect(cross.code).toBe(1);
    const details = cross.doc.checks.map((c) => c.detail).join('\n');
    expect(details).toContain(`CORRUPTED: ${file}`);
    expect(details).not.toContain(cross.doc.copy.path);
  });

  it('a folder where a network file belongs: NOT_A_FILE naming that path of the user', async () => {
    const dir = join(root, 'folder-at-file');
    await cp(migrated, dir, { recursive: true });
    const file = join(dir, 'deployments', 'bsctestnet.json');
    await rm(file);
    await mkdir(file);
    const aborted = envelopeOf(await deploystate(['drill', 'json-backend', '--json'], { cwd: dir }));
    const error = (aborted as unknown as { error: { code: string; message: string; file?: string } }).error;
    expect(error.code).toBe('NOT_A_FILE');
    expect(error.file).toBe(file);
    expect(error.message).toContain(file);
  });

  it('cross-network: fails before the copy, and on an expected inventory the data does not match', async () => {
    expect((await drill(fresh, ['cross-network'])).code).toBe(1);
    const good = join(root, 'expected-good.json');
    const bad = join(root, 'expected-bad.json');
    await writeFile(
      good,
      JSON.stringify({
        bscmainnet: 8,
        bsctestnet: 9,
        basesepolia: ['LookCoin', 'LayerZeroModule', 'SupplyOracle'],
        11155420: 3,
        sapphiretestnet: 3,
      }),
    );
    await writeFile(bad, JSON.stringify({ bscmainnet: 9, basesepolia: ['LookCoin', 'HyperlaneModule'] }));
    const pass = await drill(migrated, ['cross-network', '--expected', good]);
    expect(pass.code).toBe(0);
    expect(statusOf(pass.doc, 'per-chain counts')).toBe('pass');
    // The sample spells CrossChainRouter fully qualified on one chain only: a warning, not a failure.
    expect(statusOf(pass.doc, 'one spelling per contract')).toBe('warn');
    const fail = await drill(migrated, ['cross-network', '--expected', bad]);
    expect(fail.code).toBe(1);
    const detail = fail.doc.checks.find((c) => c.name.startsWith('per-chain counts'))?.detail ?? '';
    expect(detail).toContain('bscmainnet: expected 9');
    expect(detail).toContain('HyperlaneModule');
  });

  it('edge-cases: each damage is refused with its code; read-only is reported as skipped when running as root', async () => {
    const { doc } = await drillMigrated('edge-cases');
    expect(statusOf(doc, 'truncated file: refused with CORRUPTED')).toBe('pass');
    expect(statusOf(doc, 'garbage bytes: refused with CORRUPTED')).toBe('pass');
    expect(statusOf(doc, 'future schemaVersion')).toBe('pass');
    expect(statusOf(doc, 'one damaged record entry')).toBe('pass');
    expect(statusOf(doc, 'restore from backup')).toBe('pass');
    const readOnly = doc.checks.find((c) => c.name.startsWith('read-only file'));
    if (process.getuid?.() === 0) {
      expect(readOnly?.status).toBe('skip');
      expect(readOnly?.detail).toContain('running as root');
    } else {
      expect(readOnly?.status).toBe('pass');
    }
  });

  it('error-recovery: three SIGKILL rounds, temp-file cleanup and lock recovery each pass', async () => {
    const { doc } = await drillMigrated('error-recovery');
    expect(doc.checks.filter((c) => c.name.startsWith('SIGKILL round') && c.status === 'pass')).toHaveLength(3);
    expect(statusOf(doc, 'temp files of killed writers')).toBe('pass');
    expect(statusOf(doc, "a dead holder's lock")).toBe('pass');
  });

  it('an unknown scenario is a usage error (exit 2); nothing to drill on is exit 4', async () => {
    expect((await deploystate(['drill', 'no-such'], { cwd: migrated })).code).toBe(2);
    expect((await deploystate(['drill', 'edge-cases'], { cwd: root })).code).toBe(4);
  });

  it('--keep keeps the copy and says where', async () => {
    const { doc } = await drill(migrated, ['cross-network', '--keep']);
    expect(doc.copy.kept).toBe(true);
    expect((await readdir(join(doc.copy.path, 'deployments'))).length).toBeGreaterThan(0);
    await removeTempDir(doc.copy.path);
  });
});
