// Test helpers for the LevelDB outbox: raw entries and keys, read and written with `level` itself,
// as another process (or a crash) leaves them.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LevelDbStore, OUTBOX_END, OUTBOX_PREFIX } from '@deploystate/backend-leveldb';
import { sampleRecord } from '@deploystate/core';

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

/**
 * `work` while a deploy script's put of 97-InOutbox (record and outbox entry in one batch) commits
 * right after the first look at the live outbox (the migrate's drain found it empty), before the
 * copy's snapshot; its own drain has not run yet. Returns what `work` gave and whether the put ran.
 */
export async function withPutAfterFirstOutboxLook<T>(work: () => Promise<T>): Promise<{ result: T; wrote: boolean }> {
  const readOutbox = LevelDbStore.prototype.readOutbox;
  let wrote = false;
  LevelDbStore.prototype.readOutbox = async function (this: LevelDbStore, ...args: Parameters<LevelDbStore['readOutbox']>) {
    const read = await readOutbox.apply(this, args);
    if (!wrote && !this.readOnly) {
      wrote = true;
      const record = sampleRecord(97, 'InOutbox', 'bsctestnet', 4);
      await this.writeWithOutbox({ op: 'put', record }, { key: '97-InOutbox', op: 'put', pid: process.pid, phase: 'dual-write' });
    }
    return read;
  };
  try {
    return { result: await work(), wrote };
  } finally {
    LevelDbStore.prototype.readOutbox = readOutbox;
  }
}
