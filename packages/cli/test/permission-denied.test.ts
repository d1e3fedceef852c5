// A network file this user may not read (another user's deploy, a umask of 077) is PERMISSION_DENIED
// naming it (exit 6) from status, verify and compare, as from validate: it was read as a schema
// violation (CORRUPTED, exit 4) with the advice to restore it from a backup, which would replace a
// sound file. The commands run as uid 65534; the tests run as root, which reads any file.
import { execFileSync, spawn } from 'node:child_process';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, childEnv, envelopeOf, outputOf, sampleAt, useSample, type Run } from './helpers.js';

const fixture = useSample('deploystate-permission-denied-', { demo: false });
const asRoot = process.getuid?.() === 0;

function asNobody(args: string[], cwd: string): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv({ HOME: '/tmp' }), uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'pipe'] });
  return outputOf(child);
}

describe.runIf(asRoot)('a network file this user may not read', () => {
  it('is PERMISSION_DENIED naming it from status, verify, compare and validate, never a finding about the file', async () => {
    const dir = await sampleAt(join(fixture.root, 'json-primary'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    // Everything readable and writable by the other user but the one file.
    await chmod(fixture.root, 0o777);
    execFileSync('chmod', ['-R', 'a+rwX', dir]);
    const file = join(dir, 'deployments', 'bscmainnet.json');
    const before = await readFile(file);
    await chmod(file, 0o000);
    for (const command of [['status'], ['verify'], ['compare'], ['validate']]) {
      const run = await asNobody([...command, '--json'], dir);
      expect(run.code, `${command[0]}: ${run.stdout}${run.stderr}`).toBe(6);
      expect(envelopeOf(run), command[0]).toMatchObject({ ok: false, error: { code: 'PERMISSION_DENIED', file } });
    }
    const text = await asNobody(['verify'], dir);
    expect(text.stderr).toContain('PERMISSION_DENIED');
    expect(text.stderr).not.toMatch(/restore it from its backup|SCHEMA_VIOLATION/);
    await chmod(file, 0o644);
    expect(await readFile(file)).toEqual(before);
  });
});
