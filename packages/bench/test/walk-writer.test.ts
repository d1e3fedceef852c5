// The walk suite's deploy-script child stops when the bench goes: a bench killed before it could
// say "stop" left the child writing every 10 ms for minutes (20,000 writes) into a removed folder.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';

const WRITER = fileURLToPath(new URL('../dist/walk-writer.js', import.meta.url));
let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

describe('the walk writer', () => {
  it('stops and exits when its stdin closes without "stop" (its bench killed)', async () => {
    dir = await makeTempDir('deploystate-walk-writer-');
    const child = spawn(process.execPath, [WRITER, dir, '10'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Bounded: its first write (acknowledged or refused) shows it is in its loop.
      const until = Date.now() + 15_000;
      while (Date.now() < until && child.exitCode === null && !/^(ack|error) /m.test(out)) await new Promise((r) => setTimeout(r, 10));
      expect(out).toMatch(/^(ack|error) /m);
      child.stdin.end();
      const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 5_000))]);
      expect(code).toBe(0);
      expect(out).toMatch(/^done$/m);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
