// A project's network file in its own indent and line ends (tabs from a formatter, CRLF from a
// Windows checkout) keeps them through the copy into it and through a deploy script's puts in each
// phase that writes JSON: its git diff shows the records added or changed, not every line.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { Migration } from '../src/index.js';
import { putThroughStore, seedLevelDb, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-file-style-');

/** Tabs and CRLF: every line ends CRLF, every indent is tabs only. */
function expectTabsAndCrlf(text: string): void {
  expect(text.endsWith('\r\n')).toBe(true);
  for (const line of text.split('\r\n')) {
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).not.toMatch(/^\t* /);
  }
}

describe('a network file in its own style', () => {
  it('keeps tabs and CRLF through the copy and a deploy script’s puts in every phase that writes JSON', async () => {
    const dir = tempDir();
    const records = [sampleRecord(97, 'Token', 'bsctestnet'), sampleRecord(97, 'Vault', 'bsctestnet'), sampleRecord(56, 'Token', 'bscmainnet')];
    await seedLevelDb(dir, records);
    // The project's own file for one network, as its scripts and a Windows checkout keep it.
    const file = join(dir, 'deployments', 'bsctestnet.json');
    await mkdir(join(dir, 'deployments'), { recursive: true });
    const legacy = { network: 'bsctestnet', chainId: 97, deployer: '0xabc', contracts: { Token: { proxy: '0x1', implementation: '0x2' } } };
    await writeFile(file, `${JSON.stringify(legacy, null, '\t')}\n`.replace(/\n/g, '\r\n'));

    const migration = await Migration.open({ cwd: dir });
    try {
      await migration.enableDualWrite();
      await migration.migrate();
      const copied = await readFile(file, 'utf8');
      expectTabsAndCrlf(copied);
      expect(copied).toContain('\t"deployer": "0xabc",\r\n');
      expect(copied).toContain('\t\t"Vault": {\r\n');

      // A put in dual-write (drained to the file at the store's close), then in json-primary.
      await putThroughStore(dir, { ...sampleRecord(97, 'Token', 'bsctestnet'), timestamp: 1_900_000_000_001 });
      expectTabsAndCrlf(await readFile(file, 'utf8'));
      expect((await migration.verify()).clean).toBe(true);
      await migration.promote();
      await putThroughStore(dir, { ...sampleRecord(97, 'Vault', 'bsctestnet'), timestamp: 1_900_000_000_002 });
      const after = await readFile(file, 'utf8');
      expectTabsAndCrlf(after);
      expect(after).toContain('\t\t\t"timestamp": 1900000000001\r\n');
      expect(after).toContain('\t\t\t"timestamp": 1900000000002\r\n');
      expect((await migration.verify()).clean).toBe(true);
    } finally {
      await migration.close();
    }
    // The network the project had no file for gets the store's own style.
    expect(await readFile(join(dir, 'deployments', 'bscmainnet.json'), 'utf8')).toMatch(/^\{\n {2}"/);
  });
});
