// The validator refuses a state file with an unfinished merge: git's line markers (naming the
// records around each hunk) or the merge driver's unresolved `$conflicts` section (naming each).
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { mergeStateFiles } from '@deploystate/backend-json';
import { exitCodeFor, validateDeployments } from '../src/index.js';
import { cleanRecord, put, render, stateDocument, writeValidFolder } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('validator-merge-');
  await writeValidFolder(dir);
});
afterEach(async () => removeTempDir(dir));

describe('unfinished merges', () => {
  it('git conflict markers: MERGE_CONFLICT at the hunk, naming the records around it', async () => {
    const vaultA = render(stateDocument(56, [cleanRecord(56, 'LookCoin', 0), cleanRecord(56, 'NewVaultA', 2)]));
    const vaultB = render(stateDocument(56, [cleanRecord(56, 'LookCoin', 0), cleanRecord(56, 'NewVaultB', 3)]));
    // What git's line merge leaves: the shared tail once, the two new records between markers.
    const [head, tailA] = vaultA.split('    "NewVaultA": {');
    const tailB = vaultB.split('    "NewVaultB": {')[1] as string;
    const text = `${head}<<<<<<< ours\n    "NewVaultA": {${tailA}=======\n    "NewVaultB": {${tailB}>>>>>>> theirs\n`;
    await put(dir, 'bscmainnet.json', text);
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'MERGE_CONFLICT');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      severity: 'error',
      file: join(dir, 'bscmainnet.json'),
      line: text.split('\n').indexOf('<<<<<<< ours') + 1,
    });
    expect(found[0]?.message).toContain('NewVaultA');
    expect(found[0]?.message).toContain('NewVaultB');
    expect(result.findings.some((f) => f.code === 'NOT_JSON')).toBe(false);
    expect(exitCodeFor(result)).toBe(1);
  });

  it('an unresolved $conflicts section: one MERGE_CONFLICT per record or key, with its key', async () => {
    const base = cleanRecord(56, 'LookCoin', 0);
    const ours = { ...base, address: '0x' + 'aa'.repeat(20) };
    const theirs = { ...base, address: '0x' + 'bb'.repeat(20) };
    const merged = mergeStateFiles(
      {
        base: render(stateDocument(56, [base], { config: 1 })),
        ours: render(stateDocument(56, [ours], { config: 2 })),
        theirs: render(stateDocument(56, [theirs], { config: 3 })),
      },
      { file: 'bscmainnet.json' },
    );
    await put(dir, 'bscmainnet.json', merged.text);
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'MERGE_CONFLICT');
    expect(found.map((f) => [f.pointer, f.key])).toEqual([
      ['/$conflicts/keys/config', undefined],
      ['/$conflicts/records/LookCoin', '56-LookCoin'],
    ]);
    expect(result.ok).toBe(false);
  });
});
