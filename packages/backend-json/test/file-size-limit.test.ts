// A put past the process's file-size limit (`ulimit -f`, a container's fsize limit: EFBIG) reached the
// operator as WRITE_FAILED with the generic "fix the cause above" (1 of 1 runs): nothing said that
// the limit, not the disk, refused the write. Real process, real limit.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FILE_SIZE_LIMIT_HINT } from '@deploystate/core';

describe('a put past the file-size limit', () => {
  it.skipIf(process.platform === 'win32')(
    'is WRITE_FAILED naming the file, with the hint that names the limit; the file stays as it was',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'json-file-size-limit-'));
      try {
        const target = join(dir, 'bsctestnet.json');
        const script = `
        import { JsonFileStore } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
        import { sampleRecord } from '@deploystate/core';
        const store = new JsonFileStore({ dir: process.argv[1] });
        await store.open();
        await store.put(sampleRecord(97, 'Small', 'bsctestnet', 1));
        try {
          await store.put({ ...sampleRecord(97, 'Big', 'bsctestnet', 2), deploymentArgs: ['x'.repeat(64 * 1024)] });
          console.log(JSON.stringify({ put: 'ok' }));
        } catch (error) {
          console.log(JSON.stringify({ code: error.code, file: error.file, hint: error.hint }));
        }
        await store.close();`;
        const out = execFileSync(
          'bash',
          ['-c', 'ulimit -S -f 16 && exec "$0" "$@"', process.execPath, '--input-type=module', '-e', script, dir],
          {
            cwd: new URL('..', import.meta.url),
            encoding: 'utf8',
          },
        );
        expect(JSON.parse(out)).toEqual({ code: 'WRITE_FAILED', file: target, hint: FILE_SIZE_LIMIT_HINT });
        expect(await readFile(target, 'utf8')).toContain('"Small"');
        expect(await readFile(target, 'utf8')).not.toContain('"Big"');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
