import { describe, expect, it } from 'vitest';
import { finding } from '@deploystate/core';
import { exitCodeFor, formatGithub, formatHuman, parseArgs, type ValidationResult } from '../src/index.js';

function result(): ValidationResult {
  const error = finding('ADDRESS_CHECKSUM', 'bad, really: 100%\nsecond line', {
    file: 'deployments/a,b.json',
    pointer: '/records/X/address',
    line: 7,
    column: 18,
  });
  const warning = finding('MISSING_IMPLEMENTATION_HASH', 'no hash', {
    file: 'deployments/a,b.json',
    pointer: '/records/X',
    line: 5,
    column: 10,
  });
  const info = finding('NETWORK_ALIAS', 'alias', { file: 'deployments/a,b.json', pointer: '/records/X/networkName', line: 6, column: 22 });
  return {
    ok: false,
    dir: 'deployments',
    files: [{ file: 'deployments/a,b.json', chainId: 56, records: 1, kind: 'state', findings: [error, warning, info] }],
    skipped: [{ file: 'deployments/README.md', reason: 'not a .json file' }],
    findings: [error, warning, info],
    summary: { errors: 1, warnings: 1, info: 1, files: 1 },
  };
}

describe('output formats', () => {
  it('human: table row per file, findings as file:line:col CODE, info only with verbose, colour only when asked', () => {
    const text = formatHuman(result());
    expect(text).toMatch(/deployments\/a,b\.json\s+56\s+1\s+1\s+1/);
    expect(text).toContain('deployments/a,b.json:7:18 ADDRESS_CHECKSUM error bad');
    expect(text).not.toContain('NETWORK_ALIAS');
    expect(text).not.toContain('\u001b[');
    expect(formatHuman(result(), { verbose: true })).toContain('deployments/a,b.json:6:22 NETWORK_ALIAS info alias');
    expect(formatHuman(result(), { color: true })).toContain('\u001b[31m');
  });

  it('github: escapes properties and data as the workflow-command syntax requires', () => {
    const lines = formatGithub(result()).split('\n');
    expect(lines[0]).toBe(
      '::error file=deployments/a%2Cb.json,line=7,col=18,title=ADDRESS_CHECKSUM::ADDRESS_CHECKSUM: bad, really: 100%25%0Asecond line',
    );
    expect(lines[1]).toMatch(/^::warning file=deployments\/a%2Cb\.json,line=5,col=10,/);
    expect(lines.some((l) => l.startsWith('::notice'))).toBe(false);
  });

  it('exit codes: errors are 1, warnings only with warningsAsErrors', () => {
    const r = result();
    expect(exitCodeFor(r)).toBe(1);
    r.summary.errors = 0;
    expect(exitCodeFor(r)).toBe(0);
    expect(exitCodeFor(r, { warningsAsErrors: true })).toBe(1);
  });

  it('parseArgs: defaults, flags, and INVALID_ARGUMENT for what it does not know', () => {
    expect(parseArgs([])).toMatchObject({ dir: './deployments', format: 'human', staged: false });
    expect(parseArgs(['d', '--json', '--staged', '--leveldb=db', '--warnings-as-errors'])).toMatchObject({
      dir: 'd',
      format: 'json',
      staged: true,
      leveldb: 'db',
      warningsAsErrors: true,
    });
    expect(parseArgs(['--format', 'github'])).toMatchObject({ format: 'github' });
    for (const bad of [['--format', 'xml'], ['--json', '--format', 'github'], ['a', 'b'], ['--leveldb'], ['--nope'], ['--json=1']]) {
      expect(() => parseArgs(bad), bad.join(' ')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
