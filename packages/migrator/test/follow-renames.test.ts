// followConfigRenames: how a running deploy script's store learns that deploystate.config.json
// renamed a chain's file, and only ever to a file that is there.
import { rename, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkRegistry } from '@deploystate/core';
import { followConfigRenames } from '../src/project-options.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-follow-renames-');

const config = (name: string): string => `${JSON.stringify({ networks: [{ chainId: 56, name, aliases: ['bscmainnet'], tier: 'mainnet' }] }, null, 2)}\n`;

describe('followConfigRenames', () => {
  it('follows a rename the config records once the file is there under the new name, also when the file moves after the config changed', async () => {
    const dir = tempDir();
    const deployments = join(dir, 'deployments');
    await mkdir(deployments, { recursive: true });
    await writeFile(join(deployments, 'bscmainnet.json'), '{}\n');
    await writeFile(join(dir, 'deploystate.config.json'), config('bscmainnet'));
    const registry = new NetworkRegistry();
    const follow = followConfigRenames(dir, deployments, registry);
    expect(follow(56)).toBe(false);
    // The config edited by hand first: the file is still under its old name, so nothing is followed yet.
    await writeFile(join(dir, 'deploystate.config.json'), config('bnb'));
    expect(follow(56)).toBe(false);
    expect(registry.fileName(56)).toBe('bscmainnet.json');
    // Then the file moved (git mv): followed, though the config did not change again.
    await rename(join(deployments, 'bscmainnet.json'), join(deployments, 'bnb.json'));
    expect(follow(56)).toBe(true);
    expect(registry.fileName(56)).toBe('bnb.json');
    // Nothing new: the same config is not read again.
    expect(follow(56)).toBe(false);
  });

  it('a config that cannot be read changes nothing and is read again at the next miss', async () => {
    const dir = tempDir();
    const deployments = join(dir, 'deployments');
    await mkdir(deployments, { recursive: true });
    await writeFile(join(deployments, 'bnb.json'), '{}\n');
    const registry = new NetworkRegistry();
    const follow = followConfigRenames(dir, deployments, registry);
    await writeFile(join(dir, 'deploystate.config.json'), '{ "networks": [');
    expect(follow(56)).toBe(false);
    await writeFile(join(dir, 'deploystate.config.json'), config('bnb'));
    expect(follow(56)).toBe(true);
  });
});
