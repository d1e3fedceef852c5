// verify reads written.json ahead of its lock while its workers compare; the co-owned check under
// the lock takes that read only while the file keeps the signature it had around the read. A write
// in between, or one too close to the read to tell by its stat, leaves the read unused.
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetworkRegistry } from '@deploystate/core';
import { baselineSettled, readBaselineAhead, updateBaseline, type Baseline, type CoownedContext } from '../src/coowned-baseline.js';
import { Journal } from '../src/journal.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-baseline-ahead-');

const baselineText = (seq: number): string => `${JSON.stringify({ version: 1, scannedSeq: seq, written: {} })}\n`;

/** A state folder whose written.json was last written well before now (not racy). */
async function folder(): Promise<{ ctx: CoownedContext; file: string }> {
  const dir = tempDir();
  const stateDir = join(dir, '.deploystate');
  await mkdir(stateDir, { recursive: true });
  const file = join(stateDir, 'written.json');
  await writeFile(file, baselineText(7));
  const past = new Date(Date.now() - 60_000);
  await utimes(file, past, past);
  const ctx: CoownedContext = {
    stateDir,
    deployments: join(dir, 'deployments'),
    registry: new NetworkRegistry(),
    journal: new Journal(join(stateDir, 'journal.ndjson'), join(stateDir, 'journal.lock')),
  };
  return { ctx, file };
}

/** The baseline the check under the lock starts from, and whether it is the very object read ahead. */
async function checked(ctx: CoownedContext, ahead: ReturnType<typeof readBaselineAhead>): Promise<{ seq: number; same: boolean }> {
  const early = await ahead?.baseline;
  return updateBaseline(ctx, async (baseline: Baseline) => ({ seq: baseline.scannedSeq, same: baseline === early }), () => true, ahead);
}

describe('written.json read ahead of its lock', () => {
  it('is taken while the file is unchanged', async () => {
    const { ctx } = await folder();
    const ahead = readBaselineAhead(ctx);
    expect(await checked(ctx, ahead)).toEqual({ seq: 7, same: true });
  });

  it('is left unused once the file was written again, and the check reads what is there now', async () => {
    const { ctx, file } = await folder();
    const ahead = readBaselineAhead(ctx);
    await ahead?.baseline;
    await writeFile(file, baselineText(9));
    expect(await checked(ctx, ahead)).toEqual({ seq: 9, same: false });
  });

  it('is not taken from a file modified within a timestamp tick of the read (racy: its stat cannot tell)', async () => {
    const { ctx, file } = await folder();
    // Stamped later than the read (a clock ahead, or a write in the same tick): never trusted.
    const later = new Date(Date.now() + 10_000);
    await utimes(file, later, later);
    const ahead = readBaselineAhead(ctx);
    expect(await ahead?.baseline).toBeUndefined();
    expect(await checked(ctx, ahead)).toEqual({ seq: 7, same: false });
  });

  it('is known ahead to be in vain for a file written a moment ago (verify then reads it once its scan is done)', async () => {
    const { ctx, file } = await folder();
    expect(baselineSettled(ctx)).toBe(true);
    // Just written (a verify right after the copy; stamped ahead of now so the test's own pace cannot
    // let it settle): a read now would not be taken.
    await writeFile(file, baselineText(8));
    const later = new Date(Date.now() + 10_000);
    await utimes(file, later, later);
    expect(baselineSettled(ctx)).toBe(false);
    expect(await readBaselineAhead(ctx)?.baseline).toBeUndefined();
    expect(baselineSettled({ stateDir: join(tempDir(), 'absent') })).toBe(false);
  });

  it('is nothing when written.json is absent or not a baseline', async () => {
    const { ctx, file } = await folder();
    await writeFile(file, 'not json');
    expect(await readBaselineAhead(ctx)?.baseline).toBeUndefined();
    const dir = tempDir();
    expect(readBaselineAhead({ stateDir: join(dir, 'absent') })).toBeUndefined();
  });
});
