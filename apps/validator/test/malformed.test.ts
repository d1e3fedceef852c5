// Malformed state files named for what they are: a duplicated key (line and column), a
// byte-order mark, and a link or folder under a state file's name.
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { validateDeployments } from '../src/index.js';
import { positionOfText, writeValidFolder } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('validator-malformed-');
  await writeValidFolder(dir);
});
afterEach(async () => removeTempDir(dir));

describe('malformed state files', () => {
  it('reports a duplicated key as DUPLICATE_KEY at its second occurrence', async () => {
    const file = join(dir, 'bscmainnet.json');
    const text = (await readFile(file, 'utf8')).replace('"chainId": 56,', '"chainId": 56,\n  "network": "again",');
    await writeFile(file, text);
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'DUPLICATE_KEY');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file, pointer: '', ...positionOfText(text, '"network": "again"') });
    expect(result.ok).toBe(false);
  });

  // Before: validate threw a raw RangeError (Maximum call stack size exceeded), 1 of 1 runs, and
  // checked no file at all.
  it('reports a file nested thousands of levels deep as NOT_JSON naming it, and checks the rest', async () => {
    const file = join(dir, 'bscmainnet.json');
    const text = (await readFile(file, 'utf8')).replace(
      '{',
      `{\n  "deep": ${'['.repeat(6_000)}123456789012345678901234567890${']'.repeat(6_000)},`,
    );
    await writeFile(file, text);
    const result = await validateDeployments(dir);
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.file, f.line])).toEqual([['NOT_JSON', file, 2]]);
    expect(result.files.length).toBeGreaterThan(1);
    expect(result.ok).toBe(false);
  });

  it('reports a record name no store can key (a lone surrogate) as INVALID_KEY and checks the rest', async () => {
    const file = join(dir, 'bscmainnet.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as { records: Record<string, { contractName: string }> };
    const [name] = Object.keys(doc.records) as [string];
    const bad = `${name}\ud800`;
    doc.records[bad] = { ...(doc.records[name] as { contractName: string }), contractName: bad };
    delete doc.records[name];
    await writeFile(file, JSON.stringify(doc, null, 2));
    const result = await validateDeployments(dir);
    expect(result.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.file])).toEqual([['INVALID_KEY', file]]);
    expect(result.ok).toBe(false);
  });

  it('names a byte-order mark and reads the file past it', async () => {
    const file = join(dir, 'bscmainnet.json');
    await writeFile(file, `\uFEFF${await readFile(file, 'utf8')}`);
    const result = await validateDeployments(dir);
    expect(result.findings.map((f) => f.code)).toEqual(['BYTE_ORDER_MARK']);
    expect(result.files.find((f) => f.file === file)?.records).toBe(2);
  });

  it('places the findings of a file with a byte-order mark on their own lines, as without it', async () => {
    const file = join(dir, 'bscmainnet.json');
    const text = await readFile(file, 'utf8');
    const doc = JSON.parse(text) as { records: Record<string, { address: string }> };
    const [name] = Object.keys(doc.records) as [string];
    (doc.records[name] as { address: string }).address = '0xdeadbeef';
    const bad = `${JSON.stringify(doc, null, 2)}\n`;
    await writeFile(file, bad);
    const plain = (await validateDeployments(dir)).findings.find((f) => f.code === 'INVALID_ADDRESS');
    await writeFile(file, `\uFEFF${bad}`);
    const marked = (await validateDeployments(dir)).findings.find((f) => f.code === 'INVALID_ADDRESS');
    expect(plain?.line).toBeGreaterThan(1);
    expect(marked?.line).toBe(plain?.line);
    expect(marked?.column).toBe(plain?.column);
  });

  it('reports a folder or a link under a state file name as NOT_A_FILE, naming the path', async () => {
    const folder = join(dir, 'ethereum.json');
    await mkdir(folder);
    const link = join(dir, 'basesepolia.json');
    const target = join(dir, 'elsewhere.txt');
    await writeFile(target, await readFile(link, 'utf8'));
    await rm(link);
    await symlink(target, link);
    const result = await validateDeployments(dir);
    const found = result.findings.filter((f) => f.code === 'NOT_A_FILE').map((f) => f.file);
    expect(found.sort()).toEqual([link, folder].sort());
  });
});
