// A chain's file name is decided once and recorded in the config; renaming is explicit, with a backup.
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

  // Before, where the file system has no hard links (a FAT or exFAT drive, an SMB share), the file
  // was renamed and the name recorded after: a script reading between the two found neither name
  // the config gave, and read the chain as empty. Now a copy under the new name stands in for the link.
  it('without hard links, renames through a durable copy: one of the names the config gives is the file at every moment, and a stopped one resumes', async () => {
    const deployments = join(fixture.sample, 'deployments');
    // A file system without hard links, as this process sees it: link() refused as FAT refuses it.
    const preload = join(fixture.root, 'no-hard-links.mjs');
    await writeFile(
      preload,
      `import fs from 'node:fs';\nimport { syncBuiltinESMExports } from 'node:module';\nconst refuse = async () => { throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }); };\nfs.promises.link = refuse;\nsyncBuiltinESMExports();\n`,
    );
    const env = { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };
    // Chain 56 is bsc.json by now (an earlier test renamed it).
    const [old, renamed] = [join(deployments, 'bsc.json'), join(deployments, 'bnb.json')];
    const before = await readFile(old, 'utf8');
    const inode = (await stat(old)).ino;
    const run = await fixture.inSample(['rename-network', '56', 'bnb', '--yes', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(old)).toBe(false);
    // A copy, not the file linked (the preload took hard links away).
    expect((await stat(renamed)).ino).not.toBe(inode);
    expect(await readFile(renamed, 'utf8')).toBe(before);
    expect((await config()).networks.find((n) => n.chainId === 56)).toMatchObject({ name: 'bnb' });
    // Stopped after its copy, before the config recorded the name: two files of the same bytes.
    await copyFile(renamed, join(deployments, 'bnbchain.json'));
    const resumed = await fixture.inSample(['rename-network', '56', 'bnbchain', '--yes', '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(onlyDocument(resumed)).toMatchObject({ chainId: 56, to: join(deployments, 'bnbchain.json'), resumed: true });
    expect(existsSync(renamed)).toBe(false);
    // Stopped after the config recorded it, before the old copy went; one a script wrote since is never removed.
    await copyFile(join(deployments, 'bnbchain.json'), renamed);
    await writeFile(join(deployments, 'bnbchain.json'), (await readFile(renamed, 'utf8')).replace('{', '{\n  "written": 1,'));
    const diverged = await fixture.inSample(['rename-network', '56', 'bnbchain', '--yes'], { env });
    expect(diverged.code, diverged.stdout + diverged.stderr).not.toBe(0);
    expect(existsSync(renamed)).toBe(true);
    await copyFile(join(deployments, 'bnbchain.json'), renamed);
    const finished = await fixture.inSample(['rename-network', '56', 'bnbchain', '--yes', '--json'], { env });
    expect(finished.code, finished.stderr).toBe(0);
    expect(existsSync(renamed)).toBe(false);
  }, 60_000);
});
