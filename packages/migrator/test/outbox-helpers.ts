// Test helpers for the LevelDB outbox: raw entries and keys, read and written with `level` itself,
// as another process (or a crash) leaves them.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { OUTBOX_END, OUTBOX_PREFIX } from '@deploystate/backend-leveldb';

interface RawLevel {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: string, value: string): Promise<void>;
  keys(options: { gte: string; lt: string }): { all(): Promise<string[]> };
}

function level(path: string): RawLevel {
  const require = createRequire(fileURLToPath(import.meta.resolve('@deploystate/backend-leveldb')));
  const { Level } = require('level') as { Level: new (path: string, options: object) => RawLevel };
  return new Level(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

/** Stores an outbox entry as a writer would, without its record: one the drainer cannot apply when its key names no record. */
export async function putRawOutboxEntry(path: string, value: Record<string, unknown>): Promise<void> {
  const db = level(path);
  await db.open();
  try {
    await db.put(`${OUTBOX_PREFIX}000000000000000.0000000001.000000000001`, JSON.stringify(value));
  } finally {
    await db.close();
  }
}

/** The outbox keys in the LevelDB folder (opens it: the caller must not hold it). */
export async function outboxKeys(path: string): Promise<string[]> {
  const db = level(path);
  await db.open();
  try {
    return await db.keys({ gte: OUTBOX_PREFIX, lt: OUTBOX_END }).all();
  } finally {
    await db.close();
  }
}
