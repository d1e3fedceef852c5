// How compare and verify show a differing field to a person: at the element that differs
// (`deploymentArgs[3]`, not the whole field) and, for long values, from a little before the first
// character where the sides part, so the difference is in view. Before, both values were cut at
// 67 characters from their start: two 78-digit numbers differing in the last digit read alike.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonFileStore } from '@deploystate/backend-json';
import { createStateStore } from '@deploystate/migrator';
import { deploystate, runSteps, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-difference-text-');
const MAX = '115792089237316195423570985008687907853269984665640564039457584007913129639935';

describe('a differing field, as text', () => {
  it('is named down to the element that differs, both values shown where they part, within 70 columns', async () => {
    const dir = fixture.sample;
    await runSteps(dir, [['dual-write', 'enable'], ['migrate']]);
    // Both sides get one record through a deploy script's store; then only JSON's last argument
    // changes, in its last digit.
    const store = createStateStore({ cwd: dir, env: {} });
    const coin = await store.getContract(56, 'LookCoin');
    expect(coin).not.toBeNull();
    await store.putContract(56, { ...coin!, deploymentArgs: ['LookCoin', 'LOOK', 18, `${MAX.slice(0, -1)}4`] });
    await store.close();
    const json = new JsonFileStore({ dir: join(dir, 'deployments') });
    await json.open();
    await json.put({ ...coin!, deploymentArgs: ['LookCoin', 'LOOK', 18, MAX] });
    await json.close();

    for (const command of ['compare', 'verify']) {
      const run = await deploystate([command, '--no-color'], { cwd: dir });
      expect(run.code, run.stderr).toBe(1);
      const lines = run.stdout.split('\n');
      const at = lines.findIndex((line) => line.includes('differs') && line.includes('56-LookCoin'));
      expect(at, run.stdout).toBeGreaterThan(-1);
      expect(lines[at + 1]?.trim()).toBe('deploymentArgs[3]:');
      expect(lines[at + 2]).toMatch(/^ {8}leveldb …\d+4"$/);
      expect(lines[at + 3]).toMatch(/^ {8}json {4}…\d+5"$/);
      expect(lines[at + 2]?.slice(-20, -2)).toBe(MAX.slice(-19, -1));
      for (const line of lines.slice(at, at + 4)) expect(line.length, line).toBeLessThanOrEqual(70);
    }
  });
});
