// Terminal conventions in the output module: colour by NO_COLOR / FORCE_COLOR, lines wrapped to the
// terminal, and help text that reads right.
import { describe, expect, it } from 'vitest';
import { colourWanted, continuationIndent, fitToTerminal, palette, ProgressBar } from '../src/output.js';
import { deploystate } from './helpers.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colour', () => {
  it('on a terminal by default; NO_COLOR counts only when non-empty; FORCE_COLOR forces it; --no-color always wins', () => {
    expect(colourWanted(tty, true, {})).toBe(true);
    expect(colourWanted(pipe, true, {})).toBe(false);
    expect(colourWanted(tty, true, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(tty, true, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted(pipe, true, { FORCE_COLOR: '1' })).toBe(true);
    expect(colourWanted(tty, true, { FORCE_COLOR: '0' })).toBe(false);
    expect(colourWanted(pipe, true, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(colourWanted(tty, false, { FORCE_COLOR: '1' })).toBe(false);
    expect(colourWanted(tty, true, { TERM: 'dumb' })).toBe(false);
  });
});

describe('wrapping', () => {
  // Rows went on at column 4 whatever the line: a status value wrapped under its label, a plan's
  // item under its dash.
  it("goes on under a row's value, under a list item's text, else four columns in", () => {
    const at70 = (line: string): string[] => fitToTerminal(line, { isTTY: true, columns: 70 }).split('\n');
    const value = at70(`leveldb      /tmp/project/leveldb committed to git, but git lacks files LevelDB's last open made`);
    expect(value[1]?.startsWith(`${' '.repeat(13)}files`)).toBe(true);
    const item = at70('  - switch phase json-only -> rolling-back -> leveldb-only (writes are refused while it runs)');
    expect(item[1]).toBe('    refused while it runs)');
    const prose = at70('error TRANSITION_REFUSED: dual-write enable is not allowed in json-only and more words to wrap');
    expect(prose[1]?.startsWith('    ')).toBe(true);
    expect(prose[1]?.startsWith('     ')).toBe(false);
    for (const rows of [value, item, prose]) for (const row of rows) expect(row.length).toBeLessThanOrEqual(70);
    // A label so wide it would leave its value no room goes on at a third of the width.
    expect(continuationIndent(`${'x'.repeat(40)}   ${'word '.repeat(12)}`, 60)).toBe(' '.repeat(20));
  });

  // init printed its git config lines in backticks: pasted as shown, bash ran each in a command substitution.
  it('prints a line that is one command without its backticks, wrapped with shell continuations on a terminal', () => {
    const line = '    `git config merge.deploystate.driver "npx deploystate merge-file %O %A %B %P"`';
    expect(fitToTerminal(line, { isTTY: false })).toBe('    git config merge.deploystate.driver "npx deploystate merge-file %O %A %B %P"');
    const rows = fitToTerminal(line, { isTTY: true, columns: 50 }).split('\n');
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.join('\n')).not.toContain('`');
    expect(rows.slice(0, -1).every((row) => row.endsWith(' \\') && row.length <= 50)).toBe(true);
    expect(rows.map((row) => row.trim().replace(/ \\$/, '')).join(' ')).toBe('git config merge.deploystate.driver "npx deploystate merge-file %O %A %B %P"');
    // A command inside a sentence keeps its backticks.
    expect(fitToTerminal('next: run `deploystate verify`', { isTTY: false })).toBe('next: run `deploystate verify`');
  });

  it('wraps for a terminal only', () => {
    const long = `file: /a/${'x'.repeat(100)}/bscmainnet.json and more words after it`;
    expect(fitToTerminal(long, { isTTY: false, columns: 40 })).toBe(long);
    for (const row of fitToTerminal(long, { isTTY: true, columns: 40 }).split('\n')) expect(row.length, row).toBeLessThanOrEqual(40);
  });
});

describe('help', () => {
  it('does not call colour off by default, and lists the exit codes with 6 and 130', async () => {
    const help = await deploystate(['--help']);
    expect(help.code).toBe(0);
    const line = help.stdout.split('\n').find((l) => l.includes('--no-color')) ?? '';
    expect(line).not.toContain('default: true');
    expect(help.stdout).toMatch(/^ {2}6 {4}the machine refused/m);
    expect(help.stdout).toMatch(/^ {2}130 {2}interrupted/m);
  });
});

describe('lines other code writes to a terminal', () => {
  it('are wrapped to its width, while redrawn rows, partial lines and non-terminals pass as they are', async () => {
    const { fitLinesWrittenTo } = await import('../src/output.js');
    const written: string[] = [];
    const terminal = { isTTY: true, columns: 40, write: (chunk: string) => written.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
    fitLinesWrittenTo(terminal);
    fitLinesWrittenTo(terminal); // once per stream: a second call does not wrap twice
    const warning = `deploystate: a library warning naming /tmp/some/long/folder/deployments/bsctestnet.json and more\n`;
    terminal.write(warning);
    terminal.write('\rcopying 10 records ........................................ 50%');
    terminal.write('no newline yet, and longer than the forty columns of this terminal');
    const [wrapped, redrawn, partial] = written;
    expect(wrapped?.split('\n').every((line) => line.length <= 40)).toBe(true);
    expect(wrapped?.split('\n').length).toBeGreaterThan(2);
    expect(wrapped?.replace(/\s+/g, '')).toBe(warning.replace(/\s+/g, ''));
    expect(redrawn).toBe('\rcopying 10 records ........................................ 50%');
    expect(partial).toBe('no newline yet, and longer than the forty columns of this terminal');
    const pipe: string[] = [];
    const notTerminal = { isTTY: false, columns: 40, write: (chunk: string) => pipe.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
    fitLinesWrittenTo(notTerminal);
    notTerminal.write(warning);
    expect(pipe).toEqual([warning]);
  });
});

describe('progress in a log (not a terminal)', () => {
  it('is a line per new file or tenth of the work, each saying its count is the whole copy\'s so far and where the copy is', () => {
    const lines: string[] = [];
    const log = { isTTY: false, write: (chunk: string) => lines.push(chunk) > 0 } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar(log, palette(false), 'copying');
    bar.update({ done: 16, total: 16, totalKnown: false, rate: 188, label: 'optimismsepolia.json' });
    bar.update({ done: 16, total: 16, totalKnown: false, rate: 150, label: 'optimismsepolia.json' });
    bar.update({ done: 16, total: 16, totalKnown: false, rate: 148, label: 'sapphiretestnet.json' });
    bar.update({ done: 14, total: 28, rate: 5.5, label: 'bsctestnet.json' });
    bar.update({ done: 28, total: 28 });
    bar.finish();
    expect(lines).toEqual([
      'copying 16 records so far, 188 rec/s, at optimismsepolia.json\n',
      'copying 16 records so far, 148 rec/s, at sapphiretestnet.json\n',
      'copying 50% 14/28, 5.5 rec/s, at bsctestnet.json\n',
      'copying 100% 28/28\n',
    ]);
  });
});

describe('a comparison with pending keys', () => {
  // Keys written while the comparison read (an outbox entry not yet drained) were shown as
  // "excluded from both sides", as if an operator had excluded them, and --json left them out.
  it('lists them as pending, apart from exclusions, on screen and in --json', async () => {
    const { renderComparison } = await import('../src/render.js');
    const { comparisonDocument } = await import('../src/commands/compare.js');
    const side = { count: 2, digest: 'd' };
    const comparison = { equal: true, left: side, right: side, onlyLeft: [], onlyRight: [], differing: [], counts: { onlyLeft: 0, onlyRight: 0, differing: 0 }, truncated: false, excluded: ['56-Old'], unreadable: [], pending: ['97-Busy'] };
    const lines = renderComparison(comparison, palette(false), 20);
    expect(lines.some((line) => line.includes('excluded from both sides: 56-Old') && !line.includes('97-Busy'))).toBe(true);
    expect(lines.some((line) => line.startsWith('pending') && line.includes('97-Busy'))).toBe(true);
    expect(comparisonDocument(comparison)).toMatchObject({ excluded: ['56-Old'], pending: ['97-Busy'] });
  });

  // In json-only no gate writes LevelDB: "the next gate completes it" sent the operator waiting for
  // nothing, and the verdict counted the writes since the cut-over without the pending ones.
  it('in json-only, says a pending key was written while it read, and counts it among the writes since the cut-over', async () => {
    const { renderComparison } = await import('../src/render.js');
    const side = { count: 30, digest: 'd' };
    const comparison = { equal: true, left: { count: 28, digest: 'a' }, right: side, onlyLeft: [], onlyRight: [], differing: [], counts: { onlyLeft: 0, onlyRight: 0, differing: 0 }, truncated: false, excluded: [], unreadable: [], pending: ['97-DuringVerify'], writtenSinceCutover: ['56-Deployed'] };
    const lines = renderComparison(comparison, palette(false), 20);
    expect(lines).toContain('pending (written while it read; not a difference): 97-DuringVerify');
    expect(lines.some((line) => line.includes('stores agree but for 2 key(s) written since the cut-over'))).toBe(true);
    expect(lines.join('\n')).not.toContain('the next gate completes it');
  });

  // A key written while verify read counts on the side that held it then. The verdict said the
  // pending keys were "left out of the counts (77 records each)" while a walk of the runbook with a
  // deploy script running showed both digests different and 77 on each side, the pending ones included.
  it('gives each side its own count, never claiming the pending keys are left out of them', async () => {
    const { renderComparison } = await import('../src/render.js');
    const comparison = {
      equal: true,
      left: { count: 28, digest: 'a' },
      right: { count: 29, digest: 'b' },
      onlyLeft: [],
      onlyRight: [],
      differing: [],
      counts: { onlyLeft: 0, onlyRight: 0, differing: 0 },
      truncated: false,
      excluded: [],
      unreadable: [],
      pending: ['97-DuringVerify'],
    };
    const verdict = renderComparison(comparison, palette(false), 20).at(-1) ?? '';
    expect(verdict).toContain('identical but for 1 pending key(s) (28 records in leveldb, 29 in json)');
    expect(verdict).not.toContain('left out of the counts');
  });
});
