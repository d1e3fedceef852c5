// The hand-over request file as a holder reads it: another live process's fresh request is
// pending; its own, a dead process's, and one whose time is more than the TTL away from this
// clock (behind it, or ahead of it after the clock was stepped back) are not.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Handover } from '../src/handover.js';

const children: ChildProcess[] = [];
const folders: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** Another live process, and a hand-over for a fresh database path, with that process's request posted. */
function requestedByAnother(): Handover {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  children.push(child);
  const folder = mkdtempSync(join(tmpdir(), 'handover-'));
  folders.push(folder);
  const handover = new Handover(join(folder, 'db'));
  writeFileSync(handover.file, `${String(child.pid)}:other-store\n${Date.now()}\n`);
  folders.push(handover.file);
  return handover;
}

/** Moves the request file's times `ms` from now (negative: into the past). */
function stamp(handover: Handover, ms: number): void {
  const at = (Date.now() + ms) / 1000;
  utimesSync(handover.file, at, at);
}

describe('Handover.pending', () => {
  it("sees another live process's fresh request", () => {
    expect(requestedByAnother().pending()).toBe(true);
  });

  it('ignores a request older than 20 s', () => {
    const handover = requestedByAnother();
    stamp(handover, -25_000);
    expect(handover.pending()).toBe(false);
  });

  it('ignores a request stamped more than 20 s ahead of the clock (the clock stepped back since)', () => {
    const handover = requestedByAnother();
    stamp(handover, 60 * 60_000);
    expect(handover.pending()).toBe(false);
    // A request stamped a little ahead (clocks a second apart) still counts.
    stamp(handover, 2_000);
    expect(handover.pending()).toBe(true);
  });

  it("ignores its own request and a dead process's", () => {
    const own = requestedByAnother();
    own.request();
    expect(own.pending()).toBe(false);
    const dead = requestedByAnother();
    writeFileSync(dead.file, `999999999:gone\n${Date.now()}\n`);
    expect(dead.pending()).toBe(false);
  });
});
