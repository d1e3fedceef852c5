// The library's warnings in the CLI: shown like the CLI's own output (fitted to a narrow terminal,
// a hint on its own line) and, with --json, carried in the envelope's `warnings`, which the
// shipped schema accepts.
import { ErrorCodes, warn, warningLine } from '@deploystate/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { palette } from '../src/output.js';
import { stdoutState } from '../src/stdout-state.js';
import { renderWarning, showWarnings } from '../src/warnings.js';
import { envelopeOf } from './helpers.js';

const overwrite = {
  code: ErrorCodes.FOREIGN_OVERWRITE,
  message: 'a write found its file no longer holding 1 record(s) the store wrote there (other code rewrote it): deployments/bsctestnet.json: 97-Token (missing); the write goes ahead on the file as it is',
  hint: 'Run `deploystate repair-files` to put them back.',
  file: 'deployments/bsctestnet.json',
  keys: ['97-Token'],
};

afterEach(() => {
  vi.restoreAllMocks();
  stdoutState.warnings.length = 0;
});

describe('library warnings in the CLI', () => {
  it('go to stderr in the CLI’s form and into the envelope, never as the library’s bare line', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    showWarnings(palette(false), true);
    showWarnings(palette(false), true); // once per process: a second call does not print twice
    warn(overwrite);
    expect(written).toEqual([`${renderWarning(overwrite, palette(false))}\n`]);
    expect(written.join('')).not.toContain(warningLine(overwrite));
    expect(stdoutState.warnings).toEqual([overwrite]);
    const envelope = { ok: true, command: 'status', version: '1.0.0', data: null, warnings: stdoutState.warnings };
    expect(() => envelopeOf({ code: 0, stdout: JSON.stringify(envelope), stderr: '' })).not.toThrow();
    expect(() => envelopeOf({ code: 0, stdout: JSON.stringify({ ...envelope, warnings: [{ code: 'X' }] }), stderr: '' })).toThrow(/not a valid envelope/);
  });

  it('fit a 70-column terminal, code and hint kept whole', async () => {
    const { fitToTerminal } = await import('../src/output.js');
    const rows = fitToTerminal(renderWarning(overwrite, palette(false)), { isTTY: true, columns: 70 }).split('\n');
    for (const row of rows) expect(row.length, row).toBeLessThanOrEqual(70);
    expect(rows[0]).toMatch(/^warning FOREIGN_OVERWRITE: /);
    expect(rows.join(' ')).toContain('deploystate repair-files');
  });
});
