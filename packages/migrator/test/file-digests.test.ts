// What verify learned from a network file's bytes is reused only while the file is unchanged: a
// rewrite between the comparison and the co-owned files check is read again, never trusted.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSignature, KnownFileDigests } from '../src/file-digests.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-file-digests-');

describe('KnownFileDigests', () => {
  it('keeps what was recorded while the file keeps its signature, and forgets it once the file is rewritten', async () => {
    const file = join(tempDir(), 'bscmainnet.json');
    await writeFile(file, '{"a":1}\n');
    const known = new KnownFileDigests();
    const seen = known.begin(file, fileSignature(file));
    expect(seen).toBeDefined();
    seen?.records.set('Token', { digest: 'd', timestamp: '1' });
    expect(known.get(file)?.records.get('Token')).toEqual({ digest: 'd', timestamp: '1' });
    await appendFile(file, ' ');
    expect(known.get(file)).toBeUndefined();
  });

  it('records nothing for a file that changed between the stat before its read and the one after', async () => {
    const file = join(tempDir(), 'bsctestnet.json');
    await writeFile(file, '{"a":1}\n');
    const before = fileSignature(file);
    await writeFile(file, '{"a":22}\n');
    const known = new KnownFileDigests();
    expect(known.begin(file, before)).toBeUndefined();
    expect(known.get(file)).toBeUndefined();
    expect(known.begin(join(tempDir(), 'missing.json'), undefined)).toBeUndefined();
  });
});
