// A chain's file name is decided once and recorded in the config; renaming is explicit, with a backup.
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, useSample, onlyDocument } from './helpers.js';

const fixture = useSample('deploystate-cli-chain-files-');

const config = async (): Promise<{ networks: Array<{ chainId: number; name: string; aliases?: string[] }> }> =>
  JSON.parse(await readFile(join(fixture.sample, 'deploystate.config.json'), 'utf8'));

describe('chain file names', () => {
  it('are recorded by init, and change only through rename-network, which keeps a backup', async () => {
    const init = await fixture.inSample(['init']);
    expect(init.code, init.stderr).toBe(0);
    expect((await config()).networks.map((n) => [n.chainId, n.name])).toEqual([
      [56, 'bscmainnet'],
      [97, 'bsctestnet'],
    ]);
    const before = await readFile(join(fixture.sample, 'deployments', 'bsctestnet.json'), 'utf8');

    const taken = await fixture.inSample(['rename-network', '97', 'bscmainnet', '--yes']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('INVALID_ARGUMENT');
    expect(existsSync(join(fixture.sample, 'deployments', 'bsctestnet.json'))).toBe(true);
    // A name no state file may have: refused as the argument it is, before any plan is shown (no --yes asked).
    const bad = await fixture.inSample(['rename-network', '97', 'Bad.Name', '--json']);
    expect(bad.code).toBe(2);
    expect(onlyDocument(bad).error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('Bad.Name') });
    expect(bad.stderr).not.toContain('rename-network will');

    const renamed = await fixture.inSample(['rename-network', '97', 'chapel', '--yes', '--json']);
    expect(renamed.code, renamed.stderr).toBe(0);
    const result = onlyDocument(renamed) as { backup: string; to: string };
    expect(await readFile(result.to, 'utf8')).toBe(before);
    expect(await readFile(result.backup, 'utf8')).toBe(before);
    expect(existsSync(join(fixture.sample, 'deployments', 'bsctestnet.json'))).toBe(false);
    const chapel = (await config()).networks.find((n) => n.chainId === 97);
    expect(chapel).toMatchObject({ name: 'chapel' });
    expect(chapel?.aliases).toContain('bsctestnet');
    // The validator now judges the file under its recorded name.
    const validate = await fixture.inSample(['validate', '--json']);
    const judged = (onlyDocument(validate) as { files: Array<{ file: string }> }).files.map((f) => f.file);
    expect(judged.some((f) => f.endsWith('chapel.json'))).toBe(true);
    expect((await readdir(join(fixture.sample, 'deployments'))).filter((n) => n.endsWith('.json')).sort()).toEqual([
      'bscmainnet-config.json',
      'bscmainnet.json',
      'chapel.json',
    ]);
  }, 60_000);

  it('a rename stopped after the file moved, before the config recorded the name, is finished by running it again', async () => {
    // The files as a Ctrl-C or a kill between the two steps leaves them: the new name on disk, the old one in the config.
    const deployments = join(fixture.sample, 'deployments');
    const before = await readFile(join(deployments, 'bscmainnet.json'), 'utf8');
    // A file with the chain's id that is not the one this rename moved (another tool's) is never adopted.
    await rename(join(deployments, 'bscmainnet.json'), join(fixture.sample, 'aside.json'));
    await writeFile(join(deployments, 'bsc.json'), before.replace('"records"', '"other": 1, "records"'));
    const stranger = await fixture.inSample(['rename-network', '56', 'bsc', '--yes', '--json']);
    expect(stranger.code).not.toBe(0);
    expect((await config()).networks.find((n) => n.chainId === 56)).toMatchObject({ name: 'bscmainnet' });
    // As the command leaves it: its backup of the old file taken, the file moved, the config not written yet.
    const backups = join(fixture.sample, '.deploystate', 'backups', 'rename-2026-12-01T10-00-00-000Z');
    await mkdir(backups, { recursive: true });
    await writeFile(join(backups, 'bscmainnet.json'), before);
    await rename(join(fixture.sample, 'aside.json'), join(deployments, 'bsc.json'));
    expect((await config()).networks.find((n) => n.chainId === 56)).toMatchObject({ name: 'bscmainnet' });
    const again = await fixture.inSample(['rename-network', '56', 'bsc', '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(onlyDocument(again)).toMatchObject({ chainId: 56, to: join(deployments, 'bsc.json'), resumed: true });
    const bsc = (await config()).networks.find((n) => n.chainId === 56);
    expect(bsc).toMatchObject({ name: 'bsc' });
    expect(bsc?.aliases).toContain('bscmainnet');
    expect(await readFile(join(deployments, 'bsc.json'), 'utf8')).toBe(before);
    // The records are read under the recorded name again.
    const validate = await fixture.inSample(['validate', '--json']);
    const judged = (onlyDocument(validate) as { files: Array<{ file: string }> }).files.map((f) => f.file);
    expect(judged).toContain(join(deployments, 'bsc.json'));
  }, 60_000);

  it('a rename stopped with both names on the file, before or after the config recorded the new one, is finished by running it again', async () => {
    const deployments = join(fixture.sample, 'deployments');
    // Chain 97 is chapel.json by now (the first test renamed it).
    const [old, renamed] = [join(deployments, 'chapel.json'), join(deployments, 'bnbtest.json')];
    const before = await readFile(old, 'utf8');
    // Stopped after it linked the new name, before the config recorded it.
    await link(old, renamed);
    const first = await fixture.inSample(['rename-network', '97', 'bnbtest', '--yes', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(onlyDocument(first)).toMatchObject({ chainId: 97, to: renamed, resumed: true });
    expect((await config()).networks.find((n) => n.chainId === 97)).toMatchObject({ name: 'bnbtest' });
    expect(existsSync(old)).toBe(false);
    expect(await readFile(renamed, 'utf8')).toBe(before);
    // Stopped after the config recorded it, before the old name went.
    await link(renamed, old);
    const second = await fixture.inSample(['rename-network', '97', 'bnbtest', '--yes', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(onlyDocument(second)).toMatchObject({ chainId: 97, from: old, to: renamed, resumed: true });
    expect(existsSync(old)).toBe(false);
    expect(await readFile(renamed, 'utf8')).toBe(before);
    // Nothing left to finish: said, and nothing removed.
    const third = await fixture.inSample(['rename-network', '97', 'bnbtest', '--yes', '--json']);
    expect(third.code).toBe(2);
    expect(await readFile(renamed, 'utf8')).toBe(before);
  }, 60_000);
});
