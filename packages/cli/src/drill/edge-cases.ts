// `drill edge-cases`: on the copy, damage one state file the ways disks and people do (cut short,
// garbage, a newer schemaVersion, one bad record entry) and check the JSON store refuses with the
// right code and leaves the bytes exactly as they were; a read-only file; and a restore from
// backup bringing back the last good file.
import { chmod, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorCodes, parseLossless, stringifyLossless, withoutByteOrderMark } from '@deploystate/core';
import { SCHEMA_VERSION, type JsonFileStore } from '@deploystate/backend-json';
import { uncachedJsonStore } from '@deploystate/migrator';
import { failureCode, type DrillChecks } from './checks.js';
import { DRILL_PREFIX, digestOf, drillRecord, plural, upgraded, type DrillEnv } from './scenario.js';
import { sha256 } from './workspace.js';

interface Target {
  chainId: number;
  file: string;
  /** A record name in the file, to read (none in a legacy file without records). */
  name: string | undefined;
}

const fresh = (env: DrillEnv): JsonFileStore => uncachedJsonStore(env.workspace.deployments, env.registry, { lockWaitMs: 2000 });

/** The state file with the most records (a user's legacy file when none has records yet); with no state file at all, one drill record makes one. */
async function pickTarget(env: DrillEnv, store: JsonFileStore): Promise<Target> {
  let best: Target | undefined;
  let bestCount = -1;
  for (const { chainId, file } of await store.listStateFiles()) {
    const records = await store.list(chainId).catch(() => null);
    if (records !== null && records.length > bestCount) {
      best = { chainId, file, name: records[0]?.contractName };
      bestCount = records.length;
    }
  }
  if (best) return best;
  const record = drillRecord(env.registry, 31337, `${DRILL_PREFIX}Seed`);
  await store.put(record);
  env.note('drill: the copy holds no state file; one test record on hardhat (31337) gives the checks a file');
  return { chainId: 31337, file: store.fileFor(31337), name: record.contractName };
}

/** Writes `damaged`, then reads and writes through a fresh store: both must fail with `code` and the bytes stay. */
async function refusal(
  env: DrillEnv,
  checks: DrillChecks,
  target: Target,
  label: string,
  damaged: string | Buffer,
  code: string,
): Promise<void> {
  await writeFile(target.file, damaged);
  const before = sha256(await readFile(target.file));
  const store = fresh(env);
  await store.open();
  try {
    const readCode = await failureCode(() => store.list(target.chainId));
    const writeCode = await failureCode(() => store.put(drillRecord(env.registry, target.chainId, `${DRILL_PREFIX}Edge`)));
    const unchanged = sha256(await readFile(target.file)) === before;
    checks.expect(
      `${label}: refused with ${code}, bytes unchanged`,
      readCode === code && writeCode === code && unchanged,
      `${basename(target.file)}: read and write both refused with ${code}; the file is byte for byte as it was`,
      `read gave ${readCode ?? 'no error'}, write gave ${writeCode ?? 'no error'} (expected ${code}); bytes ${unchanged ? 'unchanged' : 'CHANGED'}`,
    );
  } finally {
    await store.close();
  }
}

/** One record entry replaced by garbage: the others still read, a write to the file is refused. */
async function badEntry(env: DrillEnv, checks: DrillChecks, target: Target, original: string): Promise<void> {
  const doc = parseLossless(withoutByteOrderMark(original), { source: target.file }) as { records?: Record<string, unknown> };
  const names = Object.keys(doc.records ?? {});
  if (names.length < 2) {
    checks.skip('one damaged record entry', `${basename(target.file)} has fewer than two records`);
    return;
  }
  const [broken, other] = names as [string, string];
  (doc.records as Record<string, unknown>)[broken] = { contractName: broken, address: 42 };
  const damaged = `${stringifyLossless(doc, 2)}\n`;
  await writeFile(target.file, damaged);
  const store = fresh(env);
  await store.open();
  try {
    const otherReads = (await store.get(target.chainId, other)) !== null;
    const readCode = await failureCode(() => store.get(target.chainId, broken));
    const writeCode = await failureCode(() => store.put(drillRecord(env.registry, target.chainId, `${DRILL_PREFIX}Edge`)));
    const unchanged = (await readFile(target.file, 'utf8')) === damaged;
    checks.expect(
      'one damaged record entry: the rest still reads, writes refused',
      otherReads && readCode === ErrorCodes.CORRUPTED && writeCode === ErrorCodes.CORRUPTED && unchanged,
      `${other} still reads; ${broken} and a write to the file are refused with CORRUPTED; bytes unchanged`,
      `other record read: ${otherReads}; damaged entry gave ${readCode ?? 'no error'}; write gave ${writeCode ?? 'no error'}; bytes ${unchanged ? 'unchanged' : 'CHANGED'}`,
    );
  } finally {
    await store.close();
  }
}

/** Whether chmod 0444 stops this process writing (it does not for root or with CAP_DAC_OVERRIDE). */
async function chmodStopsWrites(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r+');
    await handle.close();
    return false;
  } catch {
    return true;
  }
}

async function readOnly(env: DrillEnv, checks: DrillChecks, target: Target, original: string): Promise<void> {
  const name = 'read-only file (chmod 0444)';
  const mode = (await stat(target.file)).mode & 0o777;
  await chmod(target.file, 0o444);
  try {
    if (!(await chmodStopsWrites(target.file))) {
      const root = process.getuid?.() === 0;
      checks.skip(
        name,
        `skipped: ${root ? 'running as root' : 'this process may write any file (CAP_DAC_OVERRIDE)'}, where chmod does not stop writes; run the drill as the deploy user to check it`,
      );
      return;
    }
    const store = fresh(env);
    await store.open();
    try {
      const readsOk =
        target.name === undefined
          ? Array.isArray(await store.list(target.chainId))
          : (await store.get(target.chainId, target.name)) !== null;
      const writeCode = await failureCode(() => store.put(drillRecord(env.registry, target.chainId, `${DRILL_PREFIX}ReadOnly`)));
      const text = await readFile(target.file, 'utf8');
      const modeAfter = (await stat(target.file)).mode & 0o777;
      if (writeCode === undefined) {
        // The store replaces files by rename, which the folder allows: then the user's 0444 must survive.
        checks.expect(
          name,
          readsOk && modeAfter === 0o444,
          'reads work; the write replaced the file by rename (the folder allows it) and kept its 0444 mode',
          `reads ${readsOk ? 'work' : 'fail'}; mode after the write is ${modeAfter.toString(8)}, not 444`,
        );
      } else {
        checks.expect(
          name,
          readsOk && writeCode === ErrorCodes.PERMISSION_DENIED && text === original,
          'reads work; the write is refused with PERMISSION_DENIED; bytes unchanged',
          `reads ${readsOk ? 'work' : 'fail'}; write gave ${writeCode}; bytes ${text === original ? 'unchanged' : 'CHANGED'}`,
        );
      }
    } finally {
      await store.close();
    }
  } finally {
    await chmod(target.file, mode);
    await writeFile(target.file, original);
  }
}

/** Replaces a file the way an editor that saves by rename (or git) does: a new file in its place. */
async function replaceFile(file: string, data: string | Buffer): Promise<void> {
  await writeFile(`${file}.drill-edit`, data);
  await rename(`${file}.drill-edit`, file);
}

/**
 * Two writes; garbage in the file's place; restore brings back the version the store last wrote
 * (kept among the backups as a link), and the one before when every backup of that one is damaged too.
 */
async function restoreFromBackup(env: DrillEnv, checks: DrillChecks, target: Target): Promise<void> {
  const name = 'restore from backup brings back the last good file';
  const store = fresh(env);
  await store.open();
  try {
    const record = drillRecord(env.registry, target.chainId, `${DRILL_PREFIX}Restore`);
    await store.put(record);
    const good1 = await readFile(target.file, 'utf8');
    await store.put(upgraded(record));
    const good2 = await readFile(target.file, 'utf8');
    const backups = await store.listBackups(target.chainId);
    await replaceFile(target.file, '{"records": {"cut short');
    const first = await store.restore(target.chainId);
    const afterFirst = await readFile(target.file, 'utf8');
    const readsBack = digestOf(await store.get(target.chainId, record.contractName)) === digestOf(upgraded(record));
    // Damage every backup of the last version written, and the file again: the restore must skip
    // them all and bring back the version before.
    for (const backup of await store.listBackups(target.chainId)) {
      if ((await readFile(backup, 'utf8').catch(() => '')) === good2) await replaceFile(backup, 'not json');
    }
    await replaceFile(target.file, Buffer.from([0xff, 0xfe, 0x00]));
    const second = await store.restore(target.chainId);
    const afterSecond = await readFile(target.file, 'utf8');
    const ok = afterFirst === good2 && first.version.lastWritten && readsBack && afterSecond === good1;
    checks.expect(
      name,
      ok,
      `garbage in place of ${basename(target.file)}: restore brought back ${basename(first.restored)} (the version the store last wrote), which reads; with every backup of it damaged too, the one before it (${basename(second.restored)})`,
      `${plural(backups.length, 'backup')} listed; first restore ${afterFirst === good2 ? 'gave' : 'did not give'} the last version written${readsBack ? '' : ' (record did not read back)'}; second restore ${afterSecond === good1 ? 'gave' : 'did not give'} the one before`,
    );
  } finally {
    await store.close();
  }
}

export async function edgeCasesDrill(env: DrillEnv, checks: DrillChecks): Promise<void> {
  const setup = fresh(env);
  await setup.open();
  const target = await pickTarget(env, setup).finally(() => setup.close());
  const original = await readFile(target.file, 'utf8');
  env.note(`drill: damaging a copy of ${basename(target.file)}`);
  const restoreOriginal = (): Promise<void> => writeFile(target.file, original);
  const doc = parseLossless(withoutByteOrderMark(original), { source: target.file }) as Record<string, unknown>;
  const cases: Array<[string, string | Buffer, string]> = [
    ['truncated file', original.slice(0, Math.max(1, Math.floor(original.length / 2))), ErrorCodes.CORRUPTED],
    ['empty file', '', ErrorCodes.CORRUPTED],
    ['garbage bytes', Buffer.from([0x00, 0x9f, 0x92, 0x96, 0x7b, 0x7b, 0x6e, 0x6f, 0x74]), ErrorCodes.CORRUPTED],
    [
      `future schemaVersion (${SCHEMA_VERSION + 1})`,
      `${stringifyLossless({ ...doc, schemaVersion: SCHEMA_VERSION + 1 }, 2)}\n`,
      ErrorCodes.UNSUPPORTED_SCHEMA_VERSION,
    ],
  ];
  for (const [label, damaged, code] of cases) {
    await checks.attempt(`${label}: refused with ${code}, bytes unchanged`, () => refusal(env, checks, target, label, damaged, code));
    await restoreOriginal();
  }
  await checks.attempt('one damaged record entry: the rest still reads, writes refused', () => badEntry(env, checks, target, original));
  await restoreOriginal();
  await checks.attempt('read-only file (chmod 0444)', () => readOnly(env, checks, target, original));
  await restoreOriginal();
  await checks.attempt('restore from backup brings back the last good file', () => restoreFromBackup(env, checks, target));
}
