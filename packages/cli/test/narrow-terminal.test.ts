// Help and tables in a real 70-column terminal (tmux): the program wraps every line itself, so the
// terminal never cuts a word; a table too wide for it wraps inside its columns, keeping its rule
// and its columns lined up; and a table that cannot fit even so prints one block per row.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { USAGE } from '@deploystate/bench';
import { wrapToWidth } from '@deploystate/core';
import { table } from '../src/output.js';
import { COMMANDS } from '../src/program.js';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';
import { TmuxPane } from './tmux.js';

const COLUMNS = 70;
const fixture = useSample('deploystate-cli-narrow-', { demo: false });
const panes: TmuxPane[] = [];
// A project past cut-over (every phase run), in a folder with a long name, so paths do not fit.
let project = '';

beforeAll(async () => {
  project = join(fixture.root, 'a-project-folder-with-a-rather-long-name', 'p');
  await sampleAt(project, [], 'migrate --demo');
});

afterEach(async () => {
  for (const pane of panes.splice(0)) await pane.close();
});

/** Runs each argument list in turn in one 70-column pane; returns the lines as the program wrote them (wrapped rows joined). */
async function inPane(runs: string[][]): Promise<string[]> {
  const files = join(fixture.root, 'panes');
  await mkdir(files, { recursive: true });
  const pane = await TmuxPane.startEach(runs, { cwd: project, dir: files, columns: COLUMNS, rows: 50 });
  panes.push(pane);
  await pane.exitCode();
  return (await pane.text()).split('\n').map((line) => line.trimEnd());
}

/** Text as words: the program's own line breaks (at a space, or after a path's slash) undone. */
const words = (text: string): string => text.replace(/\/\n */g, '/').replace(/\s+/g, ' ');

const tooWide = (lines: string[]): string[] => lines.filter((line) => [...line].length > COLUMNS);

describe('--help at 70 columns', () => {
  it("the bench's help and its usage error (run by `deploystate bench --`): every line fits, every option reads whole", async () => {
    const lines = await inPane([
      ['bench', '--', '--help'],
      ['bench', '--', '--suite', 'nosuch'],
    ]);
    expect(tooWide(lines)).toEqual([]);
    const text = words(lines.join('\n'));
    // Twice: once for --help, once under the error.
    expect(text.split(words(USAGE).trim()).length - 1).toBe(2);
    expect(text).toContain('unknown suite "nosuch"');
  });

  it('the main help: every line fits, every command description reads whole', async () => {
    const lines = await inPane([['--help']]);
    expect(tooWide(lines)).toEqual([]);
    const text = words(lines.join('\n'));
    for (const spec of COMMANDS) expect(text).toContain(spec.description);
    expect(text).toContain('130 interrupted (Ctrl-C)');
  });

  it("every command's help: every line fits, every option description reads whole", async () => {
    // A few panes, each running several commands' help in turn (a pane keeps a bounded history).
    const batches = [0, 1, 2, 3].map((b) => COMMANDS.filter((_, i) => i % 4 === b));
    const outputs = await Promise.all(batches.map((batch) => inPane(batch.map((spec) => [spec.usage.split(' ')[0] as string, '--help']))));
    for (const [b, lines] of outputs.entries()) {
      expect(tooWide(lines)).toEqual([]);
      const text = words(lines.join('\n'));
      for (const spec of batches[b] ?? []) {
        expect(text).toContain(`$ deploystate ${spec.usage.split(' ')[0] as string}`);
        for (const [, description] of spec.options ?? []) expect(text).toContain(description);
      }
    }
  });
});

/** The table whose dash rule is at `rule`: its header and body lines (until a blank line or the first line that breaks its columns). */
function tableAt(lines: string[], rule: number): { gaps: number[]; header: string; body: string[] } {
  const gaps = [...(lines[rule] ?? '')].flatMap((ch, i) => (ch === ' ' ? [i] : []));
  const aligned = (line: string): boolean => line !== '' && gaps.every((i) => (line[i] ?? ' ') === ' ');
  const body: string[] = [];
  for (let i = rule + 1; i < lines.length && aligned(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
  return { gaps, header: lines[rule - 1] ?? '', body };
}

describe('tables at 70 columns', () => {
  it('validate, analyze, rollback --ready and dual-write verify: one rule each, columns lined up, every row there', async () => {
    const commands = [['validate'], ['analyze'], ['rollback', '--ready'], ['dual-write', 'verify']];
    const data = await Promise.all(commands.map((args) => deploystate([...args, '--json'], { cwd: project }).then(onlyDocument)));
    // What each table's rows must show, from the same commands' --json.
    const expected = [
      (data[0]?.files as Array<{ file: string }>).map((f) => f.file.split('/').pop() as string),
      (data[1]?.chains as Array<{ network: string }>).map((c) => c.network),
      (data[2]?.checks as Array<{ name: string }>).map((c) => c.name),
      (data[3]?.checks as Array<{ name: string }>).map((c) => c.name),
    ];
    const lines = await inPane(commands);
    expect(tooWide(lines)).toEqual([]);
    const rules = lines.flatMap((line, i) => (/^-+( {2}-+)+$/.test(line) ? [i] : []));
    const tables = rules.map((rule) => tableAt(lines, rule));
    for (const [c, rows] of expected.entries()) {
      // The table that holds this command's first row, with every other row inside it.
      const found = tables.find((t) => t.body.some((line) => line.includes(rows[0] as string)));
      expect(found, `${commands[c]?.join(' ')}:\n${lines.join('\n')}`).toBeDefined();
      const body = words(found?.body.join('\n') ?? '');
      for (const row of rows) expect(body).toContain(row);
      // The header's titles start where the rule's dashes do.
      for (const gap of found?.gaps ?? []) expect(found?.header[gap] ?? ' ').toBe(' ');
    }
  });
});

/** The pane's rows as the terminal shows them, each a 70-column row (nothing joined). */
async function paneRows(runs: string[][], cwd = project): Promise<string[]> {
  const files = join(fixture.root, 'panes');
  await mkdir(files, { recursive: true });
  const pane = await TmuxPane.startEach(runs, { cwd, dir: files, columns: COLUMNS, rows: 50 });
  panes.push(pane);
  await pane.exitCode();
  return (await pane.rows()).map((line) => line.trimEnd());
}

/** Whether `value` stands whole on one of the rows. */
const wholeOnARow = (rows: string[], value: string): boolean => rows.some((row) => row.includes(value));

describe('values to copy at 70 columns: each on a row of its own, never split', () => {
  it('restore --list: every backup name, the name --backup takes; report: each report file', async () => {
    const list = onlyDocument(await deploystate(['restore', '--list', '--json'], { cwd: project })) as {
      files: Array<{ backups: string[] }>;
      leveldb: { backups: string[] };
    };
    const rows = await paneRows([['restore', '--list'], ['report']]);
    expect(tooWide(rows)).toEqual([]);
    const names = [...list.files.flatMap((f) => f.backups), ...list.leveldb.backups.map((b) => dirname(b))].map((b) => basename(b));
    expect(names.length).toBeGreaterThan(0);
    // Each name `--backup` takes on a row of its own (where it is shorter than a row), not the end of a broken path.
    for (const name of names.filter((n) => n.length < COLUMNS - 2)) expect(rows, name).toContain(`  ${name}`);
    // The report's files, each on rows of its own after the heading: the file's name whole on one
    // (the long folder's path breaks after a slash).
    const heading = rows.indexOf('report files:');
    expect(heading, rows.join('\n')).toBeGreaterThan(-1);
    const files = rows.slice(heading + 1);
    for (const extension of ['md', 'json'])
      expect(files.some((row) => new RegExp(`^ +(\\S*/)?migration-report-[0-9TZ-]+\\.${extension}$`).test(row)), files.join('\n')).toBe(true);
  });

  it("migrate's LevelDB backup: the backup's folder name whole on a row", async () => {
    const dir = await sampleAt(join(fixture.root, 'a-project-folder-with-a-rather-long-name', 'dual'), [['dual-write', 'enable']]);
    const rows = await paneRows([['migrate', '--yes']], dir);
    expect(tooWide(rows)).toEqual([]);
    const backups = onlyDocument(await deploystate(['restore', 'leveldb', '--list', '--json'], { cwd: dir })) as { backups: string[] };
    const backup = backups.backups.at(-1) as string;
    const at = rows.findIndex((row) => row === 'LevelDB backup:');
    expect(at, rows.join('\n')).toBeGreaterThan(-1);
    expect(words(rows.slice(at + 1, at + 4).join('\n'))).toContain(backup);
    expect(wholeOnARow(rows, basename(dirname(backup)))).toBe(true);
  });
});

// The findings of check and analyze went on at column 23 under a padded code, but at column 4
// under the longest code, which had one space after it.
describe('finding lists at 70 columns', () => {
  it('check and analyze: every continuation row starts under the messages, whatever the code', async () => {
    const rows = await paneRows([['check'], ['analyze']]);
    expect(tooWide(rows)).toEqual([]);
    const codes = /^ {2}([A-Z][A-Z_]+) +\S/;
    const firsts = rows.flatMap((row, i) => (codes.test(row) ? [i] : []));
    expect(firsts.length).toBeGreaterThan(4);
    const starts = new Set<number>();
    let continued = 0;
    for (const i of firsts) {
      const first = rows[i] as string;
      const code = (codes.exec(first) as RegExpExecArray)[1] as string;
      const messageAt = first.indexOf(' ', 2 + code.length) + first.slice(first.indexOf(' ', 2 + code.length)).search(/\S/);
      starts.add(messageAt);
      for (let j = i + 1; j < rows.length && /^ {6,}\S/.test(rows[j] as string); j++) {
        continued++;
        expect((rows[j] as string).search(/\S/), `${first}\n${rows[j]}`).toBe(messageAt);
      }
    }
    expect(continued).toBeGreaterThan(0);
    // check and analyze each pad the codes they list to one width: at most one message column each.
    expect(starts.size).toBeLessThanOrEqual(2);
  });
});

describe('table()', () => {
  const rows = [
    ['state readable', 'yes', 'phase json-only'],
    ['backup present', 'yes', '/a/long/path/to/the/state/folder/backups/copy-2026-11-30/leveldb'],
  ];

  it('wraps the widest column inside itself when the table is wider than the terminal', () => {
    const lines = table(['check', 'ok', 'detail'], rows, undefined, 50).split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(50);
    expect(lines[1]).toMatch(/^-+ {2}-+ {2}-+$/);
    const detailAt = lines[1]?.lastIndexOf(' ') ?? 0;
    // Continuation rows leave the other columns blank and go on in the detail column.
    const continuation = lines.filter((line) => line.startsWith(' '));
    expect(continuation.length).toBeGreaterThan(0);
    for (const line of continuation) expect(line.slice(0, detailAt + 1).trim()).toBe('');
    expect(words(lines.map((line) => line.slice(detailAt + 1)).join('\n'))).toContain(rows[1]?.[2]);
  });

  it('prints one block per row when even shrunk columns do not fit', () => {
    const text = table(['check', 'ok', 'detail'], rows, undefined, 24);
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(24);
    expect(text.split('\n\n')).toHaveLength(rows.length);
    expect(text).toContain('check   state readable');
  });

  it('is left as it is off a terminal', () => {
    expect(table(['check', 'ok', 'detail'], rows, undefined, undefined).split('\n')[3]).toContain(rows[1]?.[2]);
  });

  // compare's and verify's side table at 70 columns broke each 64-character digest across two
  // rows of its column, where no one could copy or compare it (a walk of the runbook at 70 columns).
  it('never breaks a word its row could hold whole: a digest gets a row of its own', () => {
    const digest = 'dcd3803f65e5745f0448f07cdc7fce9de36cba4f6368ad3030f10f25cde940d5';
    const text = table(['side', 'records', 'digest'], [['leveldb', 28, digest], ['json', 28, digest.replace(/d/g, 'e')]], undefined, 70);
    const lines = text.split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(70);
    expect(lines.filter((line) => line.trim() === digest)).toHaveLength(1);
    expect(lines.filter((line) => line.trim() === digest.replace(/d/g, 'e'))).toHaveLength(1);
    // Wide enough for the table, it stays a table.
    expect(table(['side', 'records', 'digest'], [['leveldb', 28, digest]], undefined, 90).split('\n')[2]).toContain(`28  ${digest}`);
  });
});

// A command to paste that a 70-column row cannot hold was broken across rows with no
// continuation: pasted, `init`'s merge-driver advice ran `npx deploystate` alone as the driver and
// `merge-file %O %A %B %P` as a command of its own (walk of the runbook at 70 columns).
describe('a command to paste, longer than a row', () => {
  const sh = promisify(execFile);

  /** The command quoted in backticks that starts on the line holding `start`, its rows as the terminal shows them. */
  const pasted = (lines: string[], start: string): string => {
    const first = lines.findIndex((line) => line.includes(start));
    const last = lines.findIndex((line, i) => i >= first && line.trimEnd().endsWith('`'));
    return lines.slice(first, last + 1).join('\n').trim().replace(/^`|`$/g, '');
  };

  it("init's git config lines, pasted from the pane as shown, set the driver exactly", async () => {
    const dir = join(fixture.root, 'paste');
    await mkdir(dir, { recursive: true });
    await sh('git', ['init', '-q'], { cwd: dir });
    const files = join(fixture.root, 'panes');
    await mkdir(files, { recursive: true });
    const pane = await TmuxPane.start(['init', '--yes'], { cwd: dir, dir: files, columns: COLUMNS, rows: 50 });
    panes.push(pane);
    expect(await pane.exitCode()).toBe(0);
    const lines = (await pane.rows()).map((line) => line.trimEnd());
    expect(tooWide(lines)).toEqual([]);
    // Each command is a line of its own with no backticks (pasted with them, bash ran each in a
    // command substitution); a row it breaks at ends in ` \\`, so the rows paste as one command.
    for (const start of ['git config merge.deploystate.name', 'git config merge.deploystate.driver']) {
      const first = lines.findIndex((line) => line.trimStart().startsWith(start));
      expect(first, start).toBeGreaterThan(-1);
      const last = lines.findIndex((line, i) => i >= first && !line.endsWith(' \\'));
      const rows = lines.slice(first, last + 1).join('\n').trim();
      expect(rows).not.toContain('`');
      await sh('bash', ['-c', rows], { cwd: dir });
    }
    const config = async (key: string): Promise<string> => (await sh('git', ['config', key], { cwd: dir })).stdout.trim();
    expect(await config('merge.deploystate.driver')).toBe('npx deploystate merge-file %O %A %B %P');
    expect(await config('merge.deploystate.name')).toBe('deploystate: merge deployment state by record');
  });

  it('a quoted command is broken with a shell continuation, every row fitting the width', () => {
    const command = 'deploystate cutover --dry-run --acknowledge INVALID_ADDRESS --acknowledge EMPTY_HASH --acknowledge DEV_CHAIN';
    const rows = wrapToWidth(`  next: accept every finding listed: \`${command}\``, COLUMNS);
    expect(rows.every((row) => [...row].length <= COLUMNS)).toBe(true);
    const broken = rows.filter((row) => row.endsWith(' \\'));
    expect(broken.length).toBeGreaterThan(0);
    // As the shell reads the pasted rows: each continuation (backslash, newline) removed.
    expect(pasted(rows, '`deploystate cutover').replace(/ \\\n +/g, ' ')).toBe(command);
  });
});
