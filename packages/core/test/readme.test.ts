import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_OUTCOMES, ErrorCodes, ExitCodes, FindingCodes } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code in its table', () => {
    for (const code of Object.keys(ErrorCodes)) expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\| `, 'm'));
  });

  it('says for every error code what to do: the hint the command lines print for it', () => {
    for (const [code, outcome] of Object.entries(ERROR_OUTCOMES)) {
      const row = new RegExp(`^\\| \`${code}\` \\| .* \\| (.*) \\|$`, 'm').exec(readme.slice(readme.indexOf('\n## Errors\n')));
      expect(row?.[1]?.replace(/&lt;/g, '<').replace(/&gt;/g, '>'), code).toBe(outcome.hint);
    }
  });

  it('documents every finding code with its severity', () => {
    for (const [code, meta] of Object.entries(FindingCodes))
      expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\| ${meta.severity} \\|`, 'm'));
  });

  it('puts every error code in the exit-code table on the row of the exit code the table decides', () => {
    const rows = new Map<number, string>();
    for (const match of readme.matchAll(/^\| (\d+) \| `([A-Z_]+)` \| (.*) \|$/gm)) rows.set(Number(match[1]), match[3] as string);
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual(Object.values(ExitCodes).sort((a, b) => a - b));
    for (const [code, outcome] of Object.entries(ERROR_OUTCOMES)) {
      expect(rows.get(outcome.exitCode), code).toContain(`\`${code}\``);
      expect(outcome.hint, code).toMatch(/\S/);
    }
  });
});
