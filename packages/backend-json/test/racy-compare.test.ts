// A cached file whose stat cannot vouch for it (written within a timestamp tick of when it was
// read) is compared with the file's bytes before it is used: through a scratch buffer, so the
// check itself allocates nothing. What a differing file holds must then be read, not the
// cached bytes, and never a view of that scratch buffer, which the next check overwrites.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore } from '../src/index.js';
import { FileCache, signatureOf, type LoadedFile } from '../src/file-cache.js';
import { rec } from './helpers.js';

/** Same length, one hex digit of the record's address changed. */
function sameSizeEdit(bytes: Buffer, digit: string): Buffer {
  const text = bytes.toString('utf8');
  const at = text.indexOf('"address": "0x') + '"address": "0x'.length;
  return Buffer.from(text.slice(0, at) + digit + text.slice(at + 1));
}

/** A cache entry that claims `bytes` for the file's current stat, read in the same tick as the file's last change (racy). */
function racyEntry(file: string, bytes: Buffer): LoadedFile {
  const signature = signatureOf(file);
  if (!signature) throw new Error(`${file} is missing`);
  return { file, model: null, bytes, signature, readAt: Number(signature.mtimeNs / 1_000_000n) };
}

describe('a racy cache entry', () => {
  it('is kept as it is when the file holds its bytes, and replaced by what the file holds when not', async () => {
    const dir = await makeTempDir('deploystate-racy-');
    try {
      const store = new JsonFileStore({ dir, create: true });
      await store.open();
      await store.put(rec(56, 'A', { timestamp: 1 }));
      await store.close();
      const file = join(dir, 'bscmainnet.json');
      const cache = new FileCache({ enabled: true, files: 4, canonicalFile: () => file, fallbackFile: () => undefined });

      // Same bytes (a copy, not the buffer read): the entry itself comes back, nothing parsed.
      const real = await readFile(file);
      const same = racyEntry(file, Buffer.from(real));
      cache.remember(56, same);
      expect(await cache.load(56)).toBe(same);

      // Different bytes of the same size: the file's own are read and parsed.
      cache.remember(56, racyEntry(file, sameSizeEdit(real, 'f')));
      const first = await cache.load(56);
      expect(first.bytes?.equals(real)).toBe(true);
      expect(first.model?.records.get('A')?.address).toBe(rec(56, 'A').address);

      // The file changes in place at the same size, and the next racy check reads it into the
      // same scratch buffer: the bytes the first check returned stay the file's old ones.
      const edited = sameSizeEdit(real, 'e');
      await writeFile(file, edited);
      cache.remember(56, racyEntry(file, sameSizeEdit(real, 'd')));
      const second = await cache.load(56);
      expect(second.bytes?.equals(edited)).toBe(true);
      expect(first.bytes?.equals(real)).toBe(true);
    } finally {
      await removeTempDir(dir);
    }
  });
});
