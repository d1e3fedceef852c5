// The shipped schema is checked against JSON Schema draft-07 here, once: the validator compiles it
// without that check (it cost most of the compile in every thread that validates).
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { deploymentFileSchema, validateStateFile } from '../src/schema.js';
import * as stateFile from '../src/state-file.js';
import { parseStateFile } from '../src/file-format.js';

describe('the shipped JSON Schema', () => {
  it('is a valid draft-07 schema', () => {
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(deploymentFileSchema)).toBe(true);
    expect(ajv.errors ?? null).toBeNull();
  });

  it('a schema that is not one fails that check (the check can fail)', () => {
    const ajv = new Ajv({ strict: false });
    const broken = { ...deploymentFileSchema, type: 'no-such-type' };
    expect(ajv.validateSchema(broken)).toBe(false);
  });

  it('the state-file entry point gives the same parse and validation as the package index', () => {
    expect(stateFile.parseStateFile).toBe(parseStateFile);
    expect(stateFile.validateStateFile).toBe(validateStateFile);
  });
});
