// Values deploy scripts hand in that are not plain JSON data: an ethers v5 BigNumber (a class with
// toJSON), a Date, a number beyond 2^53, a small bigint, an undefined member. The JSON store kept
// what it was handed in memory (a BigNumber's copy lost its class and was printed as its fields,
// where LevelDB held what toJSON gives): in json-primary one put left the sides differing and
// verify, promote and cut-over blocked; a number 2^60 read back as a number in the writing process
// and a bigint in every other. Every store now holds the record as every reader gets it back.
import { describe, expect, it } from 'vitest';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { demoMigration, sidesDiffer, useTempDir, type DemoStage } from './helpers.js';

const tempDir = useTempDir('deploystate-script-values-');

/** ethers v5's BigNumber as JSON.stringify sees it. */
class BigNumber {
  readonly _isBigNumber = true;
  constructor(readonly _hex: string) {}
  toJSON(): unknown {
    return { type: 'BigNumber', hex: this._hex };
  }
}

const given = (): DeploymentRecord => ({
  ...sampleRecord(56, 'FromScript', 'bscmainnet', 7),
  deploymentArgs: [new BigNumber('0x0de0b6b3a7640000'), new Date(0), 2 ** 60, 5n],
  note: undefined,
});
const readBack = [{ type: 'BigNumber', hex: '0x0de0b6b3a7640000' }, '1970-01-01T00:00:00.000Z', 2n ** 60n, 5];

describe.each<DemoStage>(['copied', 'json-primary', 'json-only'])('a script value put through createStateStore() in %s', (stage) => {
  it('reads back the same in the writing process and a fresh store, and leaves both sides agreeing where both are written', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, stage)).close();
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putContract(56, given());
      expect((await store.getContract(56, 'FromScript'))?.deploymentArgs).toStrictEqual(readBack);
      expect(await store.getContract(56, 'FromScript')).not.toHaveProperty('note');
    } finally {
      await store.close();
    }
    const fresh = createStateStore({ cwd: dir, env: {} });
    try {
      expect((await fresh.getContract(56, 'FromScript'))?.deploymentArgs).toStrictEqual(readBack);
    } finally {
      await fresh.close();
    }
    if (stage === 'json-only') return;
    expect(await sidesDiffer(dir)).toEqual({ onlyLeft: [], onlyRight: [], differing: [] });
    const migration = await Migration.open({ cwd: dir });
    try {
      expect((await migration.verify()).clean).toBe(true);
    } finally {
      await migration.close();
    }
  });
});
