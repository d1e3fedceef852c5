// Verify compares a chain at a time: LevelDB's values of the chain against its file, on a worker
// thread, taking the file's record for a value whose text is exactly that record as printed. It
// must find every difference the plain comparison finds, with the same digests: a byte difference
// that is the same state, an exact literal changed on one side, a record or a whole chain on one
// side only, a value that does not decode, keys that are not record keys, a damaged file.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore, writeLegacyStore, type LegacyEntry } from '@deploystate/backend-leveldb';
import { parseStateFile } from '@deploystate/backend-json';
import { canonicalDigest, parseLossless, sampleRecord, stringifyLossless } from '@deploystate/core';
import { Migration, resolvePaths } from '../src/index.js';
import { chainVerdict, fileVerdict, walkChain, type ChainJob, type ChainVerdict } from '../src/chain-verdict.js';
import { compareDirect, copyOnce, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-verify-chains-');

/** A record's compact text with `extra` spliced in before its closing brace (another writer's literal). */
const withExtra = (name: string, extra: string): string => `${stringifyLossless(sampleRecord(56, name, 'bscmainnet')).slice(0, -1)},${extra}}`;

/** The same record with its fields in reverse order and spaces after the separators: other bytes, the same state. */
function reordered(name: string): string {
  const record = sampleRecord(56, name, 'bscmainnet');
  return `{ ${Object.keys(record)
    .reverse()
    .map((field) => `${JSON.stringify(field)}: ${stringifyLossless(record[field])}`)
    .join(', ')} }`;
}

/** A LevelDB of `entries` copied to JSON by `migrate`; the migration is closed so either side can be edited. */
async function copied(entries: LegacyEntry[]): Promise<{ dir: string; paths: ReturnType<typeof resolvePaths> }> {
  const dir = tempDir();
  const paths = resolvePaths({ cwd: dir });
  await writeLegacyStore(paths.leveldb, entries);
  await copyOnce(dir);
  return { dir, paths };
}

/** verify, then the plain comparison of the live stores (every value parsed) as the reference it must agree with. */
async function verifyAgainstPlain(dir: string, migrations: Pick<typeof Migration, 'open'> = Migration) {
  const migration = await migrations.open({ cwd: dir });
  let verify;
  try {
    verify = await migration.verify();
  } finally {
    await migration.close();
  }
  const plain = await compareDirect(dir);
  expect(verify.evidence.leveldb).toEqual(plain.left);
  expect(verify.evidence.json).toEqual(plain.right);
  expect(verify.comparison.equal).toBe(plain.equal);
  const keys = (list: Array<{ key: string }>): string[] => list.map((entry) => entry.key);
  expect(keys(verify.comparison.onlyLeft)).toEqual(keys(plain.onlyLeft));
  expect(keys(verify.comparison.onlyRight)).toEqual(keys(plain.onlyRight));
  expect(verify.comparison.differing).toEqual(plain.differing);
  return verify;
}

/** One chain's job as verify's scan builds it: the chain's LevelDB rows in key order, and its file. */
async function jobOf(paths: ReturnType<typeof resolvePaths>, chainId: number, file: string | undefined): Promise<ChainJob> {
  const store = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
  await store.open();
  const job: ChainJob = { chainId, ...(file !== undefined && { file }), names: [], raws: [] };
  try {
    for await (const rows of store.iterateRaw({ chainId })) {
      for (const [key, raw] of rows) {
        job.names.push(key.slice(`${chainId}-`.length));
        job.raws.push(raw);
      }
    }
  } finally {
    await store.close();
  }
  return job;
}

const entries = (): LegacyEntry[] => [
  { key: '56-Exact', raw: withExtra('Exact', '"big":18446744073709551617,"fee":1.0') },
  { key: '56-Plain', raw: stringifyLossless(sampleRecord(56, 'Plain', 'bscmainnet')) },
  { key: '56-Reordered', raw: reordered('Reordered') },
];

describe("a chain's verdict", () => {
  it('takes the file record for a value printed alike, decodes any other, and lists each side alone and what it cannot read', async () => {
    const { paths } = await copied([...entries(), { key: '56-Gone', value: sampleRecord(56, 'Gone', 'bscmainnet') }]);
    const file = join(paths.deployments, 'bscmainnet.json');
    // LevelDB: one value that does not decode, one record the file lacks, one the file holds alone.
    await writeLegacyStore(paths.leveldb, [
      { key: '56-Broken', raw: '{"contractName":' },
      { key: '56-LevelDbOnly', value: sampleRecord(56, 'LevelDbOnly', 'bscmainnet') },
    ]);
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    expect(await db.delete(56, 'Gone')).toBe(true);
    await db.close();
    // The file: an entry that is not a record.
    await writeFile(file, (await readFile(file, 'utf8')).replace('"records": {', '"records": {\n    "NotARecord": 5,'));
    const model = parseStateFile(await readFile(file, 'utf8'), file, 56);

    const verdict = await chainVerdict(await jobOf(paths, 56, file));
    expect(verdict.parsed).toBe(true);
    // The file holds names LevelDB lacks: the names both sides hold, and where each LevelDB value is.
    expect(verdict.names).toEqual(['Broken', 'Exact', 'Gone', 'LevelDbOnly', 'NotARecord', 'Plain', 'Reordered']);
    expect(verdict.leftAt).toEqual([0, 1, -1, 2, -1, 3, 4]);
    const at = (name: string): number => verdict.names?.indexOf(name) ?? -1;
    const fileDigest = (name: string): string => canonicalDigest(model.records.get(name));
    // Printed alike (an exact literal included) or other bytes of the same state: one digest for both sides.
    for (const name of ['Exact', 'Plain', 'Reordered']) {
      expect(verdict.left[at(name)]).toBe(fileDigest(name));
      expect(verdict.right[at(name)]).toBeNull();
      expect(verdict.rightTexts[at(name)]).toBeNull();
    }
    // The file alone: its digest, and its text for the details, which parses back to the record.
    expect([verdict.left[at('Gone')], verdict.right[at('Gone')]]).toEqual(['', fileDigest('Gone')]);
    expect(parseLossless(verdict.rightTexts[at('Gone')] as string)).toStrictEqual(model.records.get('Gone'));
    // LevelDB alone: the digest decoding gives, and where its value is in the job.
    expect([verdict.left[at('LevelDbOnly')], verdict.right[at('LevelDbOnly')]]).toEqual([canonicalDigest(sampleRecord(56, 'LevelDbOnly', 'bscmainnet')), '']);
    // What neither side can read as a record.
    expect(verdict.leftInvalid.map((e) => [e.key, e.finding.code])).toEqual([['56-Broken', 'UNDECODABLE_VALUE']]);
    expect(verdict.rightInvalid.map(([name, f]) => [name, f.code])).toEqual([['NotARecord', 'INVALID_RECORD']]);
    expect([verdict.left[at('Broken')], verdict.right[at('Broken')], verdict.left[at('NotARecord')], verdict.right[at('NotARecord')]]).toEqual(['', '', '', '']);
    expect(verdict.timestamps[at('Plain')]).toBe(String(model.records.get('Plain')?.timestamp));
    expect(verdict.schema.files).toBe(1);
  });

  it('takes the file record only for the exact text: exotic literals printed alike share a digest, any other text is decoded', async () => {
    const literals = ['1.0', '-0', '1e400', '1.5e-400', '0.1000000000000000055511151231257827', '18446744073709551617', '"\\u00e9\\ud83d\\ude00"', '"é"'];
    const file = join(tempDir(), 'bscmainnet.json');
    const records = literals.map((literal, i) => `"X${i}": ${withExtra(`X${i}`, `"odd": ${literal}, "__proto__": [${literal}]`)}`);
    await writeFile(file, `{ "schemaVersion": 1, "chainId": 56, "records": { ${records.join(', ')} } }`);
    const model = parseStateFile(await readFile(file, 'utf8'), file, 56);
    const names = literals.map((_, i) => `X${i}`);
    const printed = names.map((name) => stringifyLossless(model.records.get(name)));
    // The printed text decodes to the file's record exactly.
    names.forEach((name, i) => expect(parseLossless(printed[i] as string)).toStrictEqual(model.records.get(name)));
    const alike = await chainVerdict({ chainId: 56, file, names, raws: printed });
    const spaced = await chainVerdict({ chainId: 56, file, names, raws: printed.map((text) => ` ${text}`) });
    // The last literal's record with one literal changed: another state, found.
    const changed = await chainVerdict({ chainId: 56, file, names, raws: printed.map((text) => text.replace('"odd":', '"odd":[0],"was":')) });
    // The file holds exactly LevelDB's names: they are not sent back.
    expect([alike.names, alike.leftAt]).toEqual([undefined, undefined]);
    names.forEach((name, i) => {
      const digest = canonicalDigest(model.records.get(name));
      expect([alike.left[i], alike.right[i], spaced.left[i], spaced.right[i]]).toEqual([digest, null, digest, null]);
      expect(changed.right[i]).toBe(digest);
      expect(changed.left[i]).not.toBe(digest);
      expect(changed.left[i]).toBe(canonicalDigest(parseLossless(printed[i]?.replace('"odd":', '"odd":[0],"was":') as string)));
    });
  });

  it('gives each record its own texts across a file of many print runs, whichever side lacks or changes it', async () => {
    const file = join(tempDir(), 'bscmainnet.json');
    const names = Array.from({ length: 1300 }, (_, i) => `C${String(i).padStart(5, '0')}`);
    const records = names.map((name, i) => ({ ...sampleRecord(56, name, 'bscmainnet'), timestamp: 1_700_000_000_000 + i }));
    // Around the ends of the runs (512 records each): names on one side only, and values that differ.
    const fileOnly = new Set([5, 511, 512, 1024]);
    const leveldbOnly = new Set([0, 513, 1299]);
    const changed = new Set([1, 510, 1023, 1025, 1298]);
    const stored = (i: number) => (changed.has(i) ? { ...records[i], timestamp: 1 } : records[i]);
    const inFile = records.filter((_, i) => !leveldbOnly.has(i));
    await writeFile(file, stringifyLossless({ schemaVersion: 1, chainId: 56, records: Object.fromEntries(inFile.map((r) => [r.contractName, r])) }, 2));
    const job: ChainJob = { chainId: 56, file, names: [], raws: [] };
    names.forEach((name, i) => {
      if (fileOnly.has(i)) return;
      job.names.push(name);
      job.raws.push(stringifyLossless(stored(i)));
    });

    const verdict = await chainVerdict(job);
    expect(verdict.names).toEqual(names);
    names.forEach((_, i) => {
      const left = fileOnly.has(i) ? '' : canonicalDigest(stored(i));
      const right = leveldbOnly.has(i) ? '' : canonicalDigest(records[i]);
      expect([verdict.left[i], verdict.right[i]]).toEqual([left, right !== '' && right === left ? null : right]);
      const text = verdict.rightTexts[i] ?? null;
      expect(text === null ? null : parseLossless(text)).toEqual(right !== '' && right !== left ? records[i] : null);
    });
  });

  it('a file that is not a state file of the chain is left to both stores, as they read alone', async () => {
    const { paths } = await copied(entries());
    const file = join(paths.deployments, 'bscmainnet.json');
    await writeFile(file, '{ "schemaVersion": 1, "chainId": 97, "records": {} }');
    const verdict = await chainVerdict(await jobOf(paths, 56, file));
    expect(verdict.parsed).toBe(false);
    expect(verdict.left).toEqual([]);
  });
});

describe('verify, chain by chain', () => {
  it('is clean where the bytes differ but the state is the same', async () => {
    const { dir } = await copied(entries());
    const verify = await verifyAgainstPlain(dir);
    expect(verify.clean).toBe(true);
    expect(verify.evidence.leveldb.count).toBe(3);
  });

  it('finds an exact literal changed in the file, where the texts were byte-equal', async () => {
    const { dir, paths } = await copied(entries());
    const file = join(paths.deployments, 'bscmainnet.json');
    const text = await readFile(file, 'utf8');
    // 1.0 and 1 are different state: a literal is compared as written.
    await writeFile(file, text.replace('"fee": 1.0', '"fee": 1'));
    expect(await readFile(file, 'utf8')).not.toBe(text);
    const verify = await verifyAgainstPlain(dir);
    expect(verify.clean).toBe(false);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['56-Exact', ['fee']]]);
  });

  it('finds an exact literal changed in LevelDB, the file unchanged', async () => {
    const { dir, paths } = await copied(entries());
    await writeLegacyStore(paths.leveldb, [{ key: '56-Exact', raw: withExtra('Exact', '"big":18446744073709551617,"fee":1.00') }]);
    const verify = await verifyAgainstPlain(dir);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['56-Exact', ['fee']]]);
  });

  it('lists a record on one side only, on either side', async () => {
    const { dir, paths } = await copied(entries());
    await writeLegacyStore(paths.leveldb, [{ key: '56-OnlyInLevelDb', value: sampleRecord(56, 'OnlyInLevelDb', 'bscmainnet') }]);
    // A record only in the file: LevelDB's Plain deleted.
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    expect(await db.delete(56, 'Plain')).toBe(true);
    await db.close();
    const verify = await verifyAgainstPlain(dir);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['56-OnlyInLevelDb']);
    expect(verify.comparison.onlyRight.map((e) => e.key)).toEqual(['56-Plain']);
    expect(verify.comparison.differing).toEqual([]);
  });
});

describe('verify, chain by chain, with chains on one side only', () => {
  it('looks past LevelDB chains without a file, however many, to the next chain with one', async () => {
    const chains: Array<[number, string]> = [[11155420, 'optimismsepolia'], [56, 'bscmainnet'], [84532, 'basesepolia'], [97, 'bsctestnet']];
    const { dir, paths } = await copied(chains.map(([chainId, network]) => ({ key: `${chainId}-A`, value: sampleRecord(chainId, 'A', network) })));
    // Every chain before bsctestnet (in key order) without its file: more than the chains the scan reads ahead.
    for (const [, network] of chains.slice(0, 3)) await rm(join(paths.deployments, `${network}.json`));
    const verify = await verifyAgainstPlain(dir);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['11155420-A', '56-A', '84532-A']);
    expect(verify.evidence.json.count).toBe(1);
  }, 30_000);
});

describe('verify as built (its worker threads where chains are large enough)', () => {
  const built = async (): Promise<typeof import('../src/index.js')> =>
    (await import(new URL('../dist/index.js', import.meta.url).href)) as typeof import('../src/index.js');
  const chains: Array<[number, string]> = [[56, 'bscmainnet'], [97, 'bsctestnet'], [84532, 'basesepolia'], [11155420, 'optimismsepolia']];
  const records = (): LegacyEntry[] =>
    chains.flatMap(([chainId, network]) => ['A', 'B', 'C'].map((name) => ({ key: `${chainId}-${name}`, value: sampleRecord(chainId, name, network) })));

  it('gives the verdicts this thread gives, and this thread gives them once the workers are gone', async () => {
    const { paths } = await copied(records());
    const { verdictPool } = (await import(new URL('../dist/verdict-pool.js', import.meta.url).href)) as typeof import('../src/verdict-pool.js');
    // Every chain counted large, and one at a time: each goes to an idle thread (a worker busy would give it to this thread).
    const pool = verdictPool({ threads: 2, threadWorthy: 0 });
    // One file damaged: its verdict (not parsed, left to the stores) comes from a worker too.
    await writeFile(join(paths.deployments, 'basesepolia.json'), '{ "schemaVersion": 1, "records": { "A": ');
    const jobs = await Promise.all(chains.map(([chainId, network]) => jobOf(paths, chainId, join(paths.deployments, `${network}.json`))));
    try {
      expect(pool.threads).toBe(2);
      const there: ChainVerdict[] = [];
      for (const job of jobs) there.push(await pool.run(job));
      expect(pool.ran).toEqual({ here: 0, threads: 4 });
      expect(there).toEqual(await Promise.all(jobs.map((job) => chainVerdict(job))));
      expect(there.map((verdict) => verdict.parsed)).toEqual([true, true, false, true]);
    } finally {
      await pool.close();
    }
    expect(await pool.run(jobs[0] as ChainJob)).toEqual(await chainVerdict(jobs[0] as ChainJob));
  });

  it('runs the last job waiting for a busy worker on this thread, leaving one for the workers until no more will come', async () => {
    const { paths } = await copied(records());
    const { verdictPool } = (await import(new URL('../dist/verdict-pool.js', import.meta.url).href)) as typeof import('../src/verdict-pool.js');
    const jobs = await Promise.all(chains.map(([chainId, network]) => jobOf(paths, chainId, join(paths.deployments, `${network}.json`))));
    const expected = await Promise.all(jobs.map((job) => chainVerdict(job)));
    // Three jobs on two workers: the third waits for them while more may come; finish() hands it to this thread at once.
    const three = verdictPool({ threads: 2, threadWorthy: 0 });
    try {
      const verdicts = jobs.slice(0, 3).map((job) => three.run(job));
      expect(three.ran).toEqual({ here: 0, threads: 3 });
      three.finish();
      expect(three.ran).toEqual({ here: 1, threads: 2 });
      expect(await Promise.all(verdicts)).toEqual(expected.slice(0, 3));
    } finally {
      await three.close();
    }
    // Four on one worker: with the second waiting, this thread takes the third at once, before the
    // scan is done, and holds it until done (one at a time); the others go to whichever is free first.
    const four = verdictPool({ threads: 1, threadWorthy: 0 });
    try {
      const verdicts = jobs.map((job) => four.run(job));
      expect(four.ran).toEqual({ here: 1, threads: 3 });
      four.finish();
      expect(await Promise.all(verdicts)).toEqual(expected);
      expect(four.ran.here + four.ran.threads).toBe(4);
    } finally {
      await four.close();
    }
  });

  it('agrees with the plain comparison: a changed record, a chain on each side alone, keys that are not record keys', async () => {
    const { dir, paths } = await copied(records());
    // A record changed in the last chain's file.
    const file = join(paths.deployments, 'optimismsepolia.json');
    const doc = parseLossless(await readFile(file, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    (doc.records.B as Record<string, unknown>).address = `0x${'ab'.repeat(20)}`;
    await writeFile(file, `${stringifyLossless(doc, 2)}\n`);
    // bsctestnet's file gone (LevelDB alone), basesepolia's records gone from LevelDB (the file alone).
    await rm(join(paths.deployments, 'bsctestnet.json'));
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    for (const name of ['A', 'B', 'C']) expect(await db.delete(84532, name)).toBe(true);
    await db.close();
    // Keys that are not record keys, before, between and after the chains (one excluded, so known).
    await writeLegacyStore(paths.leveldb, [
      { key: '0000', raw: '{}' },
      { key: '56-', raw: '{}' },
      { key: 'zz-odd', raw: stringifyLossless(sampleRecord(56, 'Odd', 'bscmainnet')) },
    ]);
    const { Migration: Built } = await built();
    const verify = await verifyAgainstPlain(dir, Built);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['11155420-B', ['address']]]);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['97-A', '97-B', '97-C']);
    expect(verify.comparison.onlyRight.map((e) => e.key)).toEqual(['84532-A', '84532-B', '84532-C']);
    expect(verify.comparison.unreadable.map((u) => [u.side, u.key, u.finding.code])).toEqual([
      ['leveldb', '0000', 'INVALID_RECORD'],
      ['leveldb', '56-', 'INVALID_RECORD'],
      ['leveldb', 'zz-odd', 'INVALID_KEY'],
    ]);
    expect(verify.schema.files).toBe(3);
  });

  const pools = async (): Promise<typeof import('../src/verdict-pool.js')> =>
    (await import(new URL('../dist/verdict-pool.js', import.meta.url).href)) as typeof import('../src/verdict-pool.js');

  it('runs a small chain on this thread: a store of a few hundred records starts no thread', async () => {
    const pool = (await pools()).verdictPool({ threads: 2 });
    const { paths } = await copied(records());
    try {
      for (const [chainId, network] of chains) await pool.run(await jobOf(paths, chainId, join(paths.deployments, `${network}.json`)));
      expect(pool.ran).toEqual({ here: chains.length, threads: 0 });
    } finally {
      await pool.close();
    }
  });

  it('starts the threads before any job only for a state file large enough to be sent to them', async () => {
    const { verdictPool } = await pools();
    const { paths } = await copied(records());
    const files = chains.map(([, network]) => join(paths.deployments, `${network}.json`));
    const small = verdictPool({ threads: 2 });
    // A file of a few hundred records is read on this thread: no thread is started for it.
    small.prepare(files);
    expect(small.started).toBe(false);
    await small.close();
    // The same files counted as large (a threshold of one record): the threads start at once.
    const large = verdictPool({ threads: 2, threadWorthy: 1 });
    try {
      large.prepare(files);
      expect(large.started).toBe(true);
      expect(large.ran).toEqual({ here: 0, threads: 0 });
    } finally {
      await large.close();
    }
  });

  it('agrees with the plain comparison on chains large enough for the threads, whichever thread works each out', async () => {
    const { THREAD_WORTHY_RECORDS } = await pools();
    // Three chains just past the size: the first goes to a worker; while the workers are busy and a
    // chain waits for them, this thread takes the next; each edit below is in its own chain.
    const size = THREAD_WORTHY_RECORDS + 10;
    const large: LegacyEntry[] = chains.slice(0, 3).flatMap(([chainId, network]) =>
      Array.from({ length: size }, (_, i) => ({ key: `${chainId}-C${i}`, value: sampleRecord(chainId, `C${i}`, network) })),
    );
    // An integer beyond 2^53 in one record, which a lossy printer would round.
    large.push({ key: '56-Big', raw: stringifyLossless({ ...sampleRecord(56, 'Big', 'bscmainnet'), deploymentArgs: [18446744073709551617n] }) });
    const { dir, paths } = await copied(large);
    // The files changed after the copy: the big integer rounded as a double prints it, a field added,
    // a record dropped.
    const bsc = join(paths.deployments, 'bscmainnet.json');
    const bscText = await readFile(bsc, 'utf8');
    expect(bscText).toContain('18446744073709551617');
    await writeFile(bsc, bscText.replace('18446744073709551617', String(Number(18446744073709551617n))));
    const file = join(paths.deployments, 'basesepolia.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"contractName": "C7"', '"contractName": "C7", "note": 1'));
    const testnet = join(paths.deployments, 'bsctestnet.json');
    const doc = parseLossless(await readFile(testnet, 'utf8')) as { records: Record<string, unknown> };
    delete doc.records.C9;
    await writeFile(testnet, `${stringifyLossless(doc, 2)}\n`);
    // And a record LevelDB no longer holds, which the file does.
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    expect(await db.delete(97, 'C5')).toBe(true);
    await db.close();
    const { Migration: Built } = await built();
    const verify = await verifyAgainstPlain(dir, Built);
    expect(verify.evidence.leveldb.count).toBe(3 * size);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([
      ['56-Big', ['deploymentArgs']],
      ['84532-C7', ['note']],
    ]);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['97-C9']);
    expect(verify.comparison.onlyRight.map((e) => e.key)).toEqual(['97-C5']);
    expect(verify.clean).toBe(false);
    // The co-owned check (from the verdicts' digests) sees each change as nobody's write explains it,
    // and the record the copy wrote that is gone as removed elsewhere.
    expect(verify.files?.findings.map((f) => [f.key, f.kind])).toEqual([
      ['56-Big', 'changed'],
      ['84532-C7', 'changed'],
    ]);
    expect(verify.files?.changedElsewhere.map((c) => [c.key, c.kind])).toEqual([['97-C9', 'removed']]);
  }, 60_000);

  it("reads a file on a worker as this thread reads it: each record's text and digest under its name, past an entry that is not a record", async () => {
    const { paths } = await copied(records());
    const { verdictPool } = await pools();
    const file = join(paths.deployments, 'bscmainnet.json');
    // Entries that are not records, between two records and after the last, and a damaged file.
    await writeFile(file, (await readFile(file, 'utf8')).replace('"records": {', '"records": {\n    "B0": 5,\n    "D": true,'));
    const damaged = join(paths.deployments, 'basesepolia.json');
    await writeFile(damaged, '{ "schemaVersion": 1, "records": { "A": ');
    const jobs = [{ chainId: 56, file }, { chainId: 84532, file: damaged }];
    const pool = verdictPool({ threads: 1, threadWorthy: 0 });
    try {
      // One at a time: each goes to the idle worker.
      const there = [];
      for (const job of jobs) there.push(await pool.file(job));
      expect(pool.ran).toEqual({ here: 0, threads: 2 });
      expect(there).toEqual(await Promise.all(jobs.map((job) => fileVerdict(job))));
      const [bsc, base] = there;
      expect(bsc?.names).toEqual(['A', 'B', 'B0', 'C', 'D']);
      expect(bsc?.texts.map((text) => text && (parseLossless(text) as { contractName: string }).contractName)).toEqual(['A', 'B', null, 'C', null]);
      expect(bsc?.digests[3]).toBe(canonicalDigest(sampleRecord(56, 'C', 'bscmainnet')));
      expect(bsc?.invalid.map(([name]) => name)).toEqual(['B0', 'D']);
      expect(base?.parsed).toBe(false);
      // The chain's values walked against the file read there: the verdict of the chain read here, each entry under its own name.
      const job = await jobOf(paths, 56, file);
      const walked = walkChain(job, bsc);
      expect(walked).toEqual(await chainVerdict(job));
      expect(walked.rightInvalid.map(([name, f]) => [name, f.code])).toEqual([['B0', 'INVALID_RECORD'], ['D', 'INVALID_RECORD']]);
      expect(walked.right.filter((digest) => digest !== null && digest !== '')).toEqual([]);
    } finally {
      await pool.close();
    }
  });

  it('finds a difference in the last record of the last chain, with more chains than files read ahead, one without its file, one without its values', async () => {
    // Nine chains, more than the files verify reads ahead of its scan (two per thread and one).
    const many: Array<[number, string]> = [
      [1, 'ethereum'], [10, 'optimismmainnet'], [11155420, 'optimismsepolia'], [23294, 'sapphiremainnet'], [23295, 'sapphiretestnet'],
      [56, 'bscmainnet'], [8453, 'basemainnet'], [84532, 'basesepolia'], [97, 'bsctestnet'],
    ];
    const { dir, paths } = await copied(many.flatMap(([chainId, network]) => ['A', 'B', 'C'].map((name) => ({ key: `${chainId}-${name}`, value: sampleRecord(chainId, name, network) }))));
    // The last record of the last chain (in key order) changed in its file.
    const last = join(paths.deployments, 'bsctestnet.json');
    const doc = parseLossless(await readFile(last, 'utf8')) as { records: Record<string, Record<string, unknown>> };
    (doc.records.C as Record<string, unknown>).address = `0x${'cd'.repeat(20)}`;
    await writeFile(last, `${stringifyLossless(doc, 2)}\n`);
    // A chain in the middle without its file, and one after it whose values LevelDB no longer holds.
    await rm(join(paths.deployments, 'sapphiretestnet.json'));
    const db = new LevelDbStore({ path: paths.leveldb, idleCloseMs: 0 });
    await db.open();
    for (const name of ['A', 'B', 'C']) expect(await db.delete(8453, name)).toBe(true);
    await db.close();
    const { Migration: Built } = await built();
    const verify = await verifyAgainstPlain(dir, Built);
    expect(verify.comparison.differing.map((d) => [d.key, d.fields.map((f) => f.field)])).toEqual([['97-C', ['address']]]);
    expect(verify.comparison.onlyLeft.map((e) => e.key)).toEqual(['23295-A', '23295-B', '23295-C']);
    expect(verify.comparison.onlyRight.map((e) => e.key)).toEqual(['8453-A', '8453-B', '8453-C']);
    expect(verify.schema.files).toBe(8);
  });

  it('a damaged file fails verify with CORRUPTED naming it', async () => {
    const { dir, paths } = await copied(records());
    const file = join(paths.deployments, 'basesepolia.json');
    await writeFile(file, '{ "schemaVersion": 1, "records": { "A": ');
    const { Migration: Built } = await built();
    const migration = await Built.open({ cwd: dir });
    try {
      await expect(migration.verify()).rejects.toMatchObject({ code: 'CORRUPTED', file });
    } finally {
      await migration.close();
    }
  });
});
