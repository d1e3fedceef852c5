// An operator whose command waits for LevelDB (a deploy script holds it, paused or busy) sat at a
// silent terminal for about 15 s before LOCKED (terminal hunt). After a second of waiting the
// command now says on stderr for whom it waits, and how long it will; stdout stays the result's.
import { spawn } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { BIN, childEnv, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-waiting-');

describe('a command waiting for a LevelDB another process holds', () => {
  it('says on stderr that it waits and for whom, then goes on once it is let go', async () => {
    const dir = join(fixture.root, 'held');
    await cp(fixture.sample, dir, { recursive: true });
    // The holder: a store kept open (it hands nothing over), in this test's process.
    const holder = new LevelDbStore({ path: join(dir, 'leveldb'), idleCloseMs: 0 });
    await holder.open();
    const child = spawn(process.execPath, [BIN, 'dual-write', 'enable', '--yes', '--json'], { cwd: dir, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const told = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('waiting:')) resolve();
      });
      // Silent until it gave up (LOCKED after its whole wait): the defect.
      child.on('exit', () => reject(new Error(`exited without saying it waits: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await told;
    expect(stderr).toContain(`LevelDB ${join(dir, 'leveldb')} is held by`);
    if (process.platform === 'linux') expect(stderr).toContain(`pid ${process.pid} (`);
    expect(stderr).toMatch(/waits up to about \d+ s, then stops with LOCKED/);
    await holder.close();
    expect(await exited, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, command: 'dual-write' });
  }, 60_000);
});
