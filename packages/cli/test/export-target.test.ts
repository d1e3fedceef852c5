// Where `export` may write, as real files and processes: never into the store's folders (a link to
// one counts, even with folders below it that do not exist yet), and never over a file without
// --force, even one that appears while the export reads. `-` writes it to stdout instead, alone.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, deploystate, largeSample, onlyDocument, useSample, type Run } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

const fixture = useSample('deploystate-cli-export-', { demo: false });
/** 30 000 records beside the sample's: an export that reads for a while. */
let project = '';

beforeAll(async () => {
  project = join(fixture.root, 'large');
  await largeSample(project, 30_000);
}, 120_000);

describe('export target', () => {
  it('a link to the deployments folder with a subfolder that does not exist yet is refused; nothing is made there', async () => {
    const link = join(fixture.root, 'dlink');
    await symlink(join(project, 'deployments'), link);
    const run = await deploystate(['export', join(link, 'sub', 'x.json'), '--json'], { cwd: project });
    expect(run.code).toBe(2);
    expect(onlyDocument(run).error).toMatchObject({ code: 'INVALID_ARGUMENT', file: join(link, 'sub', 'x.json') });
    expect(existsSync(join(project, 'deployments', 'sub'))).toBe(false);
  });

  it('without --force, a file that appears at the target while the export reads is kept, and the export fails naming it', async () => {
    const tmp = join(fixture.root, 'tmp-race');
    await mkdir(tmp);
    const target = join(fixture.root, 'out.json');
    const child = spawn(process.execPath, [BIN, 'export', target, '--json'], { cwd: project, env: childEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The target was checked (absent) once export reads its snapshot of LevelDB; then the file appears.
    for (const end = Date.now() + 30_000; Date.now() < end && !(await readdir(tmp)).some((n) => n.startsWith('deploystate-snapshot-')); )
      await new Promise((resolve) => setTimeout(resolve, 10));
    await writeFile(target, '{"precious":"user data"}\n');
    const run: Run = { code: await exited, stdout, stderr: '' };
    expect(run.code).toBe(2);
    expect(onlyDocument(run).error).toMatchObject({ code: 'INVALID_ARGUMENT', file: target });
    expect(await readFile(target, 'utf8')).toBe('{"precious":"user data"}\n');
    // No temp file of the abandoned export beside it.
    expect((await readdir(fixture.root)).filter((n) => n.startsWith('out.json.'))).toEqual([]);
  }, 60_000);

  it('on a file system without hard links, writes the export all the same, still never over a file that is there', async () => {
    const noLinks = { NODE_OPTIONS: `--import=${join(FIXTURES, 'no-hard-links.mjs')}` };
    const target = join(fixture.root, 'no-links.json');
    const run = await deploystate(['export', target, '--json'], { cwd: project, env: noLinks });
    expect(run.code, run.stdout).toBe(0);
    const { count } = onlyDocument(run) as { count: number };
    expect(count).toBeGreaterThan(30_000);
    const exported = JSON.parse(await readFile(target, 'utf8')) as { count: number; records: unknown[] };
    expect(exported).toMatchObject({ count });
    expect(exported.records).toHaveLength(count);
    // A file that appears at the target while the export reads is kept, as where links work.
    const raced = join(fixture.root, 'no-links-raced.json');
    const again = await deploystate(['export', raced, '--json'], { cwd: project, env: { ...noLinks, APPEARS_AT_LINK: '{"precious":1}\n' } });
    expect(again.code).toBe(2);
    expect(onlyDocument(again).error).toMatchObject({ code: 'INVALID_ARGUMENT', file: raced });
    expect(await readFile(raced, 'utf8')).toBe('{"precious":1}\n');
    expect((await readdir(fixture.root)).filter((n) => n.startsWith('no-links'))).toEqual(['no-links-raced.json', 'no-links.json']);
  }, 60_000);
});

describe('export to stdout (-)', () => {
  it('writes the export alone on stdout and its summary on stderr: the records and digest a file export holds', async () => {
    const target = join(fixture.root, 'beside-stdout.ndjson');
    const file = await deploystate(['export', target, '--json'], { cwd: project });
    expect(file.code, file.stdout).toBe(0);
    const run = await deploystate(['export', '-', '--format', 'ndjson'], { cwd: project });
    expect(run.code, run.stderr).toBe(0);
    const withoutTime = (text: string): string[] => text.trimEnd().split('\n').map((line) => line.replace(/"exportedAt":"[^"]*",/, ''));
    expect(withoutTime(run.stdout)).toEqual(withoutTime(await readFile(target, 'utf8')));
    const { count, digest } = onlyDocument(file) as { count: number; digest: string };
    expect(run.stderr).toContain(`exported ${count} records from leveldb to stdout (ndjson), digest ${digest}`);
    // Without --format, stdout gets JSON; no file named "-" is made.
    const json = await deploystate(['export', '-'], { cwd: project });
    expect((JSON.parse(json.stdout) as { count: number }).count).toBe(count);
    expect(existsSync(join(project, '-'))).toBe(false);
  }, 60_000);

  it('a reader that goes away before taking the whole export: WRITE_FAILED, never a success', async () => {
    const child = spawn(process.execPath, [BIN, 'export', '-', '--format', 'ndjson'], { cwd: project, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The first chunk arrives, then the reader closes its end, as `| head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (exit) => resolve(exit)));
    expect(stderr).toContain('WRITE_FAILED');
    expect(stderr).not.toContain('exported');
    expect(code).not.toBe(0);
  }, 60_000);

  it('with --json, or for a command that reads a file, - is refused (INVALID_ARGUMENT), nothing written', async () => {
    const json = await deploystate(['export', '-', '--json'], { cwd: project });
    expect(json.code).toBe(2);
    expect(onlyDocument(json).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    const imported = await deploystate(['import', '-', '--yes'], { cwd: project });
    expect(imported.code).toBe(2);
    expect(imported.stderr).toContain('INVALID_ARGUMENT: import -: only export takes `-`');
    expect(existsSync(join(project, '-'))).toBe(false);
  });
});
