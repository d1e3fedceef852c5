// A folder's files and their SHA-256, for tests that prove a command changed no byte.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under `folders` of `dir` (default: all of it), keyed by its path relative to `dir`. */
export async function fileDigests(dir: string, folders: readonly string[] = ['.']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const folder of folders) {
    for (const entry of await readdir(join(dir, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      out[relative(dir, path)] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    }
  }
  return out;
}
