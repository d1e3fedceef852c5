// A json-primary put writes the network file, then LevelDB. A git command (reset, checkout, pull)
// that took the work tree in between put its version of the file over the put's after the JSON
// write had returned: the put returned, LevelDB held the record, and the file that reads use did not
// (a deploy script would deploy the contract again). Repro: a deploy script putting every 3 ms
// beside `git checkout -- deployments` in a loop, 40-48 puts of 125-131 returned with their record
// missing from the file, git idle (150 commands; most of the window was the FOREIGN_OVERWRITE check
// that then ran after the write). The put now confirms the file once LevelDB is written.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleRecord, sleep } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Journal } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-jp-git-');

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args], { cwd: dir, stdio: 'pipe' }).toString();
}

/** The demo walked to `stage` in a new git repository, committed as it stands. */
async function committedDemo(dir: string, stage: 'json-primary' | 'json-only'): Promise<void> {
  git(dir, 'init', '-q');
  await (await demoMigration(dir, stage)).close();
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', stage);
}

/** A json-primary project committed to git, and a teammate's commit on top that adds Teammate to bsctestnet.json; the work tree as before it. */
async function projectWithTeammateCommit(dir: string): Promise<string> {
  await committedDemo(dir, 'json-primary');
  const file = join(dir, 'deployments', 'bsctestnet.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { records: Record<string, unknown> };
  doc.records.Teammate = sampleRecord(97, 'Teammate', 'bsctestnet');
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  git(dir, 'commit', '-qam', 'teammate');
  git(dir, 'checkout', '-q', 'HEAD~1', '--', 'deployments');
  return file;
}

/** The commit's bsctestnet.json checked out (real git) after a put's JSON write returned, before its LevelDB write did. */
function checkoutDuringLevelDbWrite(dir: string): void {
  const put = LevelDbStore.prototype.putChecked;
  vi.spyOn(LevelDbStore.prototype, 'putChecked').mockImplementation(async function (this: LevelDbStore, ...args) {
    git(dir, 'checkout', '-q', 'HEAD', '--', 'deployments/bsctestnet.json');
    return put.apply(this, args);
  });
}

function recordNames(file: string): string[] {
  return Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { records: object }).records);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a json-primary put while git rewrites the work tree', () => {
  it("a putMany whose network file git replaced while its LevelDB batch was written has every record written again on top of git's version", async () => {
    const dir = tempDir();
    const file = await projectWithTeammateCommit(dir);
    const putMany = LevelDbStore.prototype.putManyChecked;
    vi.spyOn(LevelDbStore.prototype, 'putManyChecked').mockImplementation(async function (this: LevelDbStore, ...args) {
      git(dir, 'checkout', '-q', 'HEAD', '--', 'deployments/bsctestnet.json');
      return putMany.apply(this, args);
    });
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putMany([sampleRecord(97, 'First', 'bsctestnet'), sampleRecord(97, 'Second', 'bsctestnet')]);
      expect(recordNames(file)).toEqual(expect.arrayContaining(['Teammate', 'First', 'Second']));
    } finally {
      await store.close();
    }
  });

  it("whose file git replaced while LevelDB was written is written again on top of git's version before it returns", async () => {
    const dir = tempDir();
    const file = await projectWithTeammateCommit(dir);
    checkoutDuringLevelDbWrite(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.putContract(97, sampleRecord(97, 'Deployed', 'bsctestnet'));
      // The put on top of git's version: the teammate's record kept, the put's there.
      expect(recordNames(file)).toEqual(expect.arrayContaining(['Teammate', 'Deployed']));
      expect((await store.getContract(97, 'Deployed'))?.contractName).toBe('Deployed');
    } finally {
      await store.close();
    }
  });

  it('whose file git replaced with one that does not parse fails DIVERGED and marks the migration diverged (LevelDB holds the write)', async () => {
    const dir = tempDir();
    const file = await projectWithTeammateCommit(dir);
    // The teammate's commit is an unfinished merge: the put cannot be made again on top of it.
    git(dir, 'checkout', '-q', 'HEAD', '--', 'deployments');
    writeFileSync(file, `<<<<<<< ours\n${readFileSync(file, 'utf8')}`);
    git(dir, 'commit', '-qam', 'conflict');
    git(dir, 'checkout', '-q', 'HEAD~2', '--', 'deployments');
    checkoutDuringLevelDbWrite(dir);
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await expect(store.putContract(97, sampleRecord(97, 'Deployed', 'bsctestnet'))).rejects.toMatchObject({
        code: 'DIVERGED',
        key: '97-Deployed',
      });
      const state = JSON.parse(readFileSync(join(dir, '.deploystate', 'state.json'), 'utf8')) as { diverged?: boolean };
      expect(state.diverged).toBe(true);
    } finally {
      await store.close();
    }
  });

  // Git that takes index.lock during the LevelDB write is waited for by LevelDB's own write (it
  // returns once git is done); git that takes it as that write returns, by the JSON confirmation.
  it.each([
    ['put', 'while LevelDB was written', 'during'],
    ['put', 'just as the LevelDB write returned', 'after'],
    ['putMany', 'just as the LevelDB write returned', 'after'],
  ] as const)('a %s does not return while git, which took index.lock %s, is still at work', async (op, _when, moment) => {
    const dir = tempDir();
    const file = await projectWithTeammateCommit(dir);
    const teammates = git(dir, 'show', 'HEAD:deployments/bsctestnet.json');
    const indexLock = join(dir, '.git', 'index.lock');
    const put = op === 'put' ? LevelDbStore.prototype.putChecked : LevelDbStore.prototype.putManyChecked;
    let gitDone: Promise<void> | undefined;
    // git takes its lock, and replaces the file (unlink, create) once the test has seen the put
    // wait for it: the test lets it finish, so a slow machine cannot let git finish first.
    let finishGit!: () => void;
    const gitMayFinish = new Promise<void>((resolve) => (finishGit = resolve));
    const gitStarts = (): void => {
      writeFileSync(indexLock, '');
      gitDone = gitMayFinish.then(() => {
        unlinkSync(file);
        writeFileSync(file, teammates, { flag: 'wx' });
        rmSync(indexLock);
      });
    };
    vi.spyOn(LevelDbStore.prototype, op === 'put' ? 'putChecked' : 'putManyChecked').mockImplementation(async function (this: LevelDbStore, ...args: unknown[]) {
      if (moment === 'during') gitStarts();
      await (put as (...a: unknown[]) => Promise<void>).apply(this, args);
      if (moment === 'after') gitStarts();
    });
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      let answered = false;
      const record = sampleRecord(97, 'Deployed', 'bsctestnet');
      const writing = (op === 'put' ? store.putContract(97, record) : store.putMany([record])).finally(() => {
        answered = true;
      });
      // Settled whatever happens below, so a failed expectation leaves no rejection behind.
      writing.catch(() => undefined);
      try {
        await vi.waitFor(() => expect(gitDone).toBeDefined(), { timeout: 20_000, interval: 10 });
        await sleep(150);
        expect(existsSync(indexLock)).toBe(true);
        expect(answered).toBe(false);
      } finally {
        finishGit();
      }
      await writing;
      await gitDone;
      expect(recordNames(file)).toEqual(expect.arrayContaining(['Teammate', 'Deployed']));
    } finally {
      await store.close();
    }
  });
});

// The FOREIGN_OVERWRITE check of a put to a file other code changed read the journal for
// milliseconds after the JSON write (json-only beside `git checkout -- deployments` in a loop:
// 31-36 puts of 138-140 returned with their record already gone, git idle; 0-1 of 96-191 since).
// It now runs before the write, as the outbox drain's does.
describe('a put to a file that other code changed', () => {
  it('is checked before it is written, so git replacing the file during the check does not take the put', async () => {
    const dir = tempDir();
    await committedDemo(dir, 'json-only');
    const file = join(dir, 'deployments', 'bsctestnet.json');
    const store = createStateStore({ cwd: dir, env: {}, onForeignOverwrite: () => undefined });
    try {
      await store.putContract(97, sampleRecord(97, 'First', 'bsctestnet'));
      // Other code (git) changed the file since the store wrote it: the next put checks it.
      git(dir, 'checkout', '-q', '--', 'deployments');
      const lastSeq = Journal.prototype.lastSeq;
      let checked = false;
      // The check reads the journal first: git replaces the file again right then.
      vi.spyOn(Journal.prototype, 'lastSeq').mockImplementation(async function (this: Journal) {
        if (!checked) git(dir, 'checkout', '-q', '--', 'deployments');
        checked = true;
        return lastSeq.call(this);
      });
      await store.putContract(97, sampleRecord(97, 'Second', 'bsctestnet'));
      expect(checked).toBe(true);
      expect(recordNames(file)).toContain('Second');
    } finally {
      await store.close();
    }
  });
});
