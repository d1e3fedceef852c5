// A teammate's rollback pulled before this clone's json-only writes reached LevelDB: what `status`
// and `rollback` print for them, in a 70-column terminal. Each line must fit, and the output must
// name every key it carries back and every one it keeps (the counts alone tell no one which).
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { deploystate, putThroughStore, sampleAt, useSample } from './helpers.js';
import { TmuxPane } from './tmux.js';

const COLUMNS = 70;
const fixture = useSample('deploystate-cli-left-behind-', { demo: false });
let a = '';


/** The lines `args` prints in a 70-column terminal, and its exit code. */
async function inPane(args: string[]): Promise<{ code: number; lines: string[] }> {
  const files = join(fixture.root, 'panes');
  await mkdir(files, { recursive: true });
  const pane = await TmuxPane.startEach([args], { cwd: a, dir: files, columns: COLUMNS, rows: 50 });
  try {
    const code = await pane.exitCode();
    return { code, lines: (await pane.text()).split('\n').map((line) => line.trimEnd()) };
  } finally {
    await pane.close();
  }
}

/** Text as words: the program's own line breaks undone. */
const words = (lines: string[]): string => lines.join('\n').replace(/\s+/g, ' ');

beforeAll(async () => {
  a = join(fixture.root, 'a');
  const b = join(fixture.root, 'b');
  await sampleAt(a, [], 'migrate --demo');
  await cp(a, b, { recursive: true });
  // A deploys two contracts and one that B, after its rollback, also writes in LevelDB, newer.
  await putThroughStore(a, sampleRecord(97, 'FromA', 'bsctestnet', 1));
  await putThroughStore(a, sampleRecord(97, 'AlsoFromA', 'bsctestnet', 2));
  await putThroughStore(a, { ...sampleRecord(97, 'Both', 'bsctestnet', 3), timestamp: 1_700_000_000_001 });
  const rollback = await deploystate(['rollback', '--emergency', '--yes'], { cwd: b });
  expect(rollback.code, rollback.stderr).toBe(0);
  await putThroughStore(b, { ...sampleRecord(97, 'Both', 'bsctestnet', 4), timestamp: 1_700_000_000_002 });
  // The pull: B's phase file and LevelDB; A's network files and local state stay.
  await rm(join(a, 'leveldb'), { recursive: true });
  await cp(join(b, 'leveldb'), join(a, 'leveldb'), { recursive: true });
  await cp(join(b, '.deploystate', 'phase.json'), join(a, '.deploystate', 'phase.json'));
}, 120_000);

describe("rollback of this clone's writes a teammate's rollback left behind, as text", () => {
  it('status and the dry run name each key to carry back and the one LevelDB holds newer; the rollback names what it carried', async () => {
    const status = await inPane(['status']);
    expect(status.code).toBe(0);
    expect(status.lines.filter((line) => [...line].length > COLUMNS)).toEqual([]);
    expect(words(status.lines)).toMatch(/97-AlsoFromA, 97-FromA.*deploystate rollback/);

    const dry = await inPane(['rollback', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.lines.filter((line) => [...line].length > COLUMNS)).toEqual([]);
    const dryText = words(dry.lines);
    expect(dryText).toContain('would carry back 2 write(s)');
    expect(dryText).toMatch(/97-AlsoFromA, 97-FromA/);
    expect(dryText).toMatch(/kept 1 that LevelDB holds newer: 97-Both/);
    expect(dryText).toContain('dry run: nothing changed');

    const done = await inPane(['rollback', '--yes']);
    expect(done.code).toBe(0);
    expect(done.lines.filter((line) => [...line].length > COLUMNS)).toEqual([]);
    const doneText = words(done.lines);
    expect(doneText).toContain('carried back 2 write(s)');
    expect(doneText).toMatch(/97-AlsoFromA, 97-FromA/);
    expect(doneText).toMatch(/kept 1 that LevelDB holds newer: 97-Both/);

    const again = await deploystate(['rollback', '--yes'], { cwd: a });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to roll back');
    expect(again.stdout).not.toContain('97-FromA');
  }, 120_000);
});
