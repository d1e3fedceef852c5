// The cross-check of a state file's legacy sections against its records: a contract listed in
// `contracts` / `implementationHashes` that `records` lacks is an error when the store's journal
// shows it wrote that key (its record was lost), a warning otherwise (a legacy listing).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { exitCodeFor, validateDeployments } from '../src/index.js';
import { cleanRecord, put, render, stateDocument } from './helpers.js';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await makeTempDir('validator-cross-');
  dir = join(root, 'deployments');
  await mkdir(dir);
  const record = cleanRecord(56, 'LookCoin');
  await put(
    dir,
    'bscmainnet.json',
    render(
      stateDocument(56, [record], {
        contracts: {
          LookCoin: { proxy: record.proxyAddress, implementation: record.address },
          NewVault: { proxy: `0x${'cd'.repeat(20)}`, implementation: `0x${'ab'.repeat(20)}` },
        },
        implementationHashes: { LookCoin: record.implementationHash, OldThing: `0x${'11'.repeat(32)}` },
      }),
    ),
  );
});
afterEach(async () => removeTempDir(root));

const journalLine = (key: string, op: 'put' | 'delete' = 'put'): string =>
  `${JSON.stringify({ type: 'intent', key, op, digest: null, time: '2026-01-01T00:00:00.000Z', pid: 1, phase: 'json-only', id: key })}\n`;

describe('LEGACY_WITHOUT_RECORD', () => {
  it('without a journal: a warning for each name records lacks', async () => {
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'LEGACY_WITHOUT_RECORD');
    expect(found.map((f) => [f.contractName, f.severity, f.pointer])).toEqual([
      ['NewVault', 'warning', '/contracts/NewVault'],
      ['OldThing', 'warning', '/implementationHashes/OldThing'],
    ]);
    expect(exitCodeFor(result)).toBe(0);
  });

  it('an error for the name the journal shows the store wrote (found beside the deployments folder by default)', async () => {
    await mkdir(join(root, '.deploystate'));
    await writeFile(join(root, '.deploystate', 'journal.ndjson'), journalLine('56-NewVault') + journalLine('97-OldThing'));
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'LEGACY_WITHOUT_RECORD');
    expect(found.map((f) => [f.contractName, f.severity, f.key])).toEqual([
      ['NewVault', 'error', '56-NewVault'],
      ['OldThing', 'warning', undefined],
    ]);
    expect(exitCodeFor(result)).not.toBe(0);
    // `journal: false` reads none.
    const without = await validateDeployments(dir, { journal: false });
    expect(without.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('a journal that cannot be read (a folder in its place) is NOT_A_FILE naming it, not a bare system error', async () => {
    const journal = join(root, '.deploystate', 'journal.ndjson');
    await mkdir(journal, { recursive: true });
    await expect(validateDeployments(dir)).rejects.toMatchObject({ code: 'NOT_A_FILE', file: journal, message: expect.stringContaining(journal) });
  });
});
