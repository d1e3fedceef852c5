// Crash-safe small-file writes and appends: a reader sees the old or the new content, never a
// torn file. Temp file beside the target, fsync, rename, fsync the folder.
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { ErrorCodes, StateError, fsErrorCode } from '@deploystate/core';

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

export async function writeFileDurable(target: string, data: string): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    await syncDir(dir);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new StateError(fsErrorCode(error), `cannot write ${target}: ${(error as Error).message}`, { file: target, cause: error });
  }
}

/** Appends text and fsyncs it before returning. */
export async function appendDurable(target: string, data: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  let handle;
  try {
    handle = await open(target, 'a');
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (error) {
    throw new StateError(fsErrorCode(error), `cannot append to ${target}: ${(error as Error).message}`, { file: target, cause: error });
  } finally {
    await handle?.close();
  }
}

export function assertNever(value: never, what: string): never {
  throw new StateError(ErrorCodes.INVALID_ARGUMENT, `unexpected ${what}: ${String(value)}`);
}
