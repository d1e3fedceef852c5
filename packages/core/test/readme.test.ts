import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, FindingCodes } from '../src/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every error code in its table', () => {
    for (const code of Object.keys(ErrorCodes)) expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\| `, 'm'));
  });

  it('documents every finding code with its severity', () => {
    for (const [code, meta] of Object.entries(FindingCodes))
      expect(readme, code).toMatch(new RegExp(`^\\| \`${code}\` \\| ${meta.severity} \\|`, 'm'));
  });
});
