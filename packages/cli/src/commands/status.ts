// `deploystate status`: the phase, the routing of reads and writes, and what can run next.
import { basename } from 'node:path';
import { compareKeys, describeAcknowledgement, ErrorCodes, ExitCodes, StateError } from '@deploystate/core';
import type { FileSystemStatus, LevelDbNotInGit, MigrationStatus } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { table } from '../output.js';
import { copyProject, withOriginals } from '../read-only.js';
import { leveldbSinceCutoverLines, listed, verdict } from '../render.js';

interface Probe {
  ok: boolean;
  phase: string;
  backend: string;
  records: number;
  detail?: string;
}

/**
 * Opens the store deploy scripts get from the factory and reads every record through it, on a copy
 * of the project in the same phase: opening the live LevelDB would rewrite files a team commits.
 */
async function probeFactory(ctx: Context, stateDir: string): Promise<Probe> {
  const { createStateStore } = await import('@deploystate/migrator');
  const copy = await copyProject(ctx, stateDir);
  const store = createStateStore(copy.options);
  try {
    await store.open();
    const health = await store.health();
    let records = 0;
    for await (const _entry of store.iterate()) records++;
    return {
      ok: health.ok,
      phase: store.phase,
      backend: store.backend,
      records,
      ...(health.detail !== undefined && { detail: copy.names(health.detail) }),
    };
  } catch (error) {
    throw withOriginals(error, copy.names);
  } finally {
    await store.close().finally(() => copy.dispose());
  }
}

/**
 * The copy reads, but a deploy script opens the real files: LevelDB's LOCK for writing, a temp file
 * in the deployments folder and the state folder (a read-only mount passes the copy and fails the
 * script). Nothing stays: the LOCK is only opened, each test file removed. Throws the script's error.
 */
async function probeRealFiles(status: MigrationStatus): Promise<void> {
  const { assertDeployScriptCanWrite } = await import('@deploystate/migrator');
  await assertDeployScriptCanWrite(status.paths, {
    leveldb: status.reads === 'leveldb' || status.writes.includes('leveldb'),
    json: status.reads === 'json' || status.writes.includes('json'),
  });
}

/**
 * The file systems that hold LevelDB, the deployments and the state folder: free space and inodes,
 * and a warning where writes fail or soon will (every deploy script's put fails on a full disk).
 */
function diskLines(
  disks: readonly FileSystemStatus[],
  p: Context['out']['paint'],
  describeRoom: (room: FileSystemStatus['room']) => string,
  describeHeld: (disk: FileSystemStatus) => string,
): string[] {
  return disks.flatMap((d, i) => {
    const label = p.bold(i === 0 ? 'disk        ' : '            ');
    const lines = [`${label} ${describeRoom(d.room)} (${describeHeld(d)})`];
    const what = (kind: 'space' | 'inodes'): string => (kind === 'space' ? 'free space' : 'free inodes');
    // A full disk refuses the test file too: said once, as full.
    if (d.notWritable && !(d.exhausted && d.notWritable.code === 'DISK_FULL'))
      lines.push(`${p.bold('            ')} ${p.red(`writes fail here: ${d.notWritable.code} ${d.notWritable.message}; every deploy script's write and every command that writes fails until it is fixed`)}`);
    if (d.exhausted)
      lines.push(
        `${p.bold('            ')} ${p.red(`no ${what(d.exhausted)} left: every write here fails with DISK_FULL (deploy scripts' puts, migrate, promote, the journal); ${d.exhausted === 'space' ? 'free disk space' : 'remove files you do not need (`df -i` shows it)'}`)}`,
      );
    else if (d.nearlyExhausted)
      lines.push(`${p.bold('            ')} ${p.yellow(`nearly out of ${what(d.nearlyExhausted)}: writes here will fail with DISK_FULL once it is used up`)}`);
    return lines;
  });
}

/** Dual-write's outbox: writes LevelDB acknowledged that JSON has not received yet, and the last drain failure. */
function outboxLines(outbox: MigrationStatus['outbox'], p: Context['out']['paint']): string[] {
  if (!outbox || (outbox.depth === 0 && !outbox.lastError)) return [];
  const pending =
    outbox.depth === 0
      ? 'empty'
      : `${outbox.depth} write(s) not yet in JSON, oldest ${outbox.oldest?.key ?? '?'} at ${outbox.oldest?.time ?? '?'} (pid ${outbox.oldest?.pid ?? '?'})`;
  const failed = outbox.lastError
    ? [
        `${p.bold('            ')} ${p.red(`last drain failed at ${outbox.lastError.key}: ${outbox.lastError.code ?? 'error'} ${outbox.lastError.message} (${outbox.lastError.at}); promote waits for a drain that succeeds`)}`,
        ...(outbox.next !== undefined ? [`${p.bold('            ')} next: ${outbox.next}`] : []),
      ]
    : [];
  return [`${p.bold('outbox      ')} ${pending}`, ...failed];
}

/**
 * [teams] A committed LevelDB whose files git's index does not all hold: a commit now (`git commit
 * -a` above all) would give every clone that pulls it a folder that does not open (STORE_INCOMPLETE).
 */
function notInGitLines(notInGit: LevelDbNotInGit | undefined, p: Context['out']['paint']): string[] {
  if (!notInGit) return [];
  // A merge left LevelDB's files in conflict: git merges them file by file, which no LevelDB survives whole.
  if (notInGit.unmerged.length > 0)
    return [
      `${p.bold('            ')} ${p.red(`in a merge conflict: ${notInGit.unmerged.join(', ')}. Git cannot merge LevelDB; finishing the merge as it stands mixes both sides' files (records lost, or a folder that does not open). Keep one side's folder whole: the other side's records written to LevelDB since the branches split are then not in it (\`deploystate compare\` lists those the JSON files hold)`)}`,
      `${p.bold('            ')} next: ${notInGit.keepOneSide ?? ''} keeps the side HEAD holds (yours in a merge; in a rebase, the branch you rebase onto), \`--source=MERGE_HEAD\` (a merge) or \`--source=REBASE_HEAD\` (a rebase) the other; then finish it`,
    ];
  const parts = [
    ...(notInGit.untracked.length > 0 ? [`not in git: ${notInGit.untracked.join(', ')}`] : []),
    ...(notInGit.ignored.length > 0 ? [`ignored by a .gitignore: ${notInGit.ignored.join(', ')}`] : []),
    ...(notInGit.deleted.length > 0 ? [`deleted, not staged: ${notInGit.deleted.join(', ')}`] : []),
  ];
  return [
    `${p.bold('            ')} ${p.yellow(`committed to git, but git lacks files LevelDB's last open made or removed (${parts.join('; ')}): a commit without them (\`git commit -a\` adds no new files) leaves every clone that pulls it a LevelDB that does not open (STORE_INCOMPLETE)`)}`,
    `${p.bold('            ')} next: ${notInGit.command}, then commit`,
  ];
}

/**
 * json-only writes a deploy script was cut off in (killed between its intent and its outcome): whether
 * each landed in its network file, and what the operator checks, since nothing closes them by itself.
 */
function cutOffLines(writes: MigrationStatus['cutOffWrites'], p: Context['out']['paint']): string[] {
  if (!writes || writes.length === 0) return [];
  return [
    `${p.bold('cut off     ')} ${p.yellow(`${writes.length} write(s) whose deploy script ended before recording how they went (killed or crashed mid-write):`)}`,
    ...writes.map((w) => {
      const what = w.op === 'delete' ? 'delete of' : 'put of';
      const landed =
        w.landed === null
          ? `${w.file} cannot be read, so whether it landed is unknown`
          : w.landed
            ? `it landed: ${w.file} holds ${w.op === 'delete' ? 'no record for it' : 'the record it wrote'}`
            : `it did not land: ${w.file} holds ${w.op === 'delete' ? 'the record still' : 'another value or none'}`;
      return `              ${what} ${w.key} by pid ${w.pid} at ${w.time}: ${landed}`;
    }),
    `${p.bold('            ')} next: check each against what the script meant to do (and the chain, if it deployed), then re-run the script; its next write of the key clears this`,
  ];
}

/** What the last copy did, true after a no-op re-run too ("0 copied, 28 already equal"). */
function copyCounts(copy: { copied?: number; unchanged?: number; skippedNewer?: number }): string {
  if (copy.unchanged === undefined) return `${copy.copied ?? '?'} records copied`;
  const newer = copy.skippedNewer ? `, ${copy.skippedNewer} kept as a script wrote them since` : '';
  return `${copy.copied ?? 0} copied, ${copy.unchanged} already equal${newer}`;
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const expect = options.expect === undefined ? undefined : String(options.expect);
  // The phases and what each allows come from the migrator's state table; nothing is restated here.
  const { PHASES, levelDbNotInGit, describeOverwrites, describeHeld, describeRoom, projectFileSystems, blockedByDisk, diskRefusal } = await import('@deploystate/migrator');
  if (expect !== undefined && !(PHASES as readonly string[]).includes(expect)) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `--expect ${expect}: not a phase (${PHASES.join(', ')})`);
  }
  // [teams] Beside the state: a committed LevelDB with files git's index lacks (one read-only git
  // call, made by this command only; Migration.status() runs inside other commands and scripts).
  const [status, leveldbNotInGit] = await Promise.all([
    withMigration(ctx, (migration) => migration.status()),
    levelDbNotInGit(ctx.paths.leveldb, ctx.cwd),
  ]);
  const probe = options.probe === true ? await probeFactory(ctx, status.paths.stateDir) : undefined;
  if (probe !== undefined) await probeRealFiles(status);
  const disk = await projectFileSystems(status.paths);
  const phaseOk = expect === undefined || status.phase === expect;
  // What a rollback could not carry back (an emergency one past a file that does not parse) fails the
  // runbook's check after it, `status --expect leveldb-only`, until LevelDB holds it.
  const carriedBackOk = status.notCarriedBack === undefined;
  const refusal = diskRefusal(disk);
  if (!phaseOk || (probe !== undefined && !probe.ok) || (expect !== undefined && !carriedBackOk)) ctx.exitCode = 1;
  else if (refusal !== undefined) {
    // A file system that refuses writes fails every command listed and every deploy script's put
    // there: not a healthy status (ENVIRONMENT, unless a check asked for failed first).
    ctx.fail(refusal.code, `${refusal.reason}: every command that writes fails until it is fixed`);
    ctx.exitCode = ExitCodes.ENVIRONMENT;
  }
  const next = blockedByDisk(status.next, refusal);
  const p = ctx.out.paint;
  // Every recorded decision: the config's (committed) and those the migration state carries.
  const decisions = {
    excluded: [...new Set([...ctx.config.exclude, ...status.state.exclusions])].sort(compareKeys),
    acknowledged: ctx.config.acknowledge,
    // Only while a cut-over stands: a rollback undid any earlier one (older versions kept the list).
    acknowledgedAtCutover: status.state.cutoverLeveldb ? status.state.acknowledged : [],
  };
  ctx.out.result({ ...status, next, ...(leveldbNotInGit && { leveldbNotInGit }), disk, decisions, ...(expect !== undefined && { expected: expect, phaseOk }), ...(probe !== undefined && { probe }) }, () => [
    `${p.bold('phase       ')} ${p.cyan(status.phase)}${status.diverged ? p.red('  (diverged: write the key again, then verify until clean)') : ''}`,
    `${p.bold('reads       ')} ${status.reads}`,
    // rolling-back writes nowhere: said, with how a rollback that stopped (a full disk, a signal) ends.
    `${p.bold('writes      ')} ${
      status.writes.length > 0
        ? status.writes.join(' then ')
        : status.rollbackRunning
          ? p.yellow(
              `refused (WRITES_REFUSED after about 2 s) until the rollback running now finishes: pid ${status.rollbackRunning.pid} (${status.rollbackRunning.command}), since ${status.rollbackRunning.since}; if it is paused (kill -STOP), resume it (kill -CONT)`,
            )
          : p.yellow('refused (WRITES_REFUSED after about 2 s): the rollback stopped before it finished; `deploystate rollback` run again finishes it')
    }`,
    `${p.bold('leveldb     ')} ${status.paths.leveldb}`,
    // What every deploy script hits when LevelDB, written first here, cannot be opened.
    ...(status.leveldbUnreadable
      ? [
          `${p.bold('            ')} ${p.red(
            status.leveldbUnreadable.tempFolder !== undefined
              ? `${tempFolderProblem(status.leveldbUnreadable.code, status.leveldbUnreadable.tempFolder)}: ${status.leveldbUnreadable.code} ${status.leveldbUnreadable.message}`
              : `cannot be opened: ${status.leveldbUnreadable.code} ${status.leveldbUnreadable.message}`,
          )}`,
          ...(status.leveldbUnreadable.hint ? [`${p.bold('            ')} next: ${status.leveldbUnreadable.hint}`] : []),
        ]
      : []),
    ...notInGitLines(leveldbNotInGit, p),
    `${p.bold('deployments ')} ${status.paths.deployments}`,
    `${p.bold('state       ')} ${status.paths.stateDir}`,
    ...diskLines(disk, p, describeRoom, describeHeld),
    `${p.bold('journal     ')} ${status.journal.entries} entries, last seq ${status.journal.lastSeq}`,
    // Readiness and the report count these; a line in the middle is damage, not only a crash's tail.
    ...(status.journal.torn > 0
      ? [`${p.bold('            ')} ${p.yellow(`${status.journal.torn} line(s) hold no entry (torn or damaged); every reader skips them`)}`]
      : []),
    ...outboxLines(status.outbox, p),
    ...cutOffLines(status.cutOffWrites, p),
    `${p.bold('last verify ')} ${status.state.lastVerify ? `${status.state.lastVerify.at} ${status.state.lastVerify.clean ? p.green('clean') : p.red('not clean')}` : 'never'}`,
    // [coowned] A network file that lost records the store wrote is not a green status.
    ...(status.foreignOverwrites && status.foreignOverwrites.length > 0
      ? [
          `${p.bold('files       ')} ${p.red(`${status.foreignOverwrites.length} record(s) the store wrote are missing or changed in their file (FOREIGN_OVERWRITE): ${describeOverwrites(status.foreignOverwrites).join('; ')}`)}`,
        ]
      : []),
    // A network file gone whole while LevelDB holds its chain's records: the rollback refuses it.
    ...(status.missingNetworkFiles ?? []).map(
      (g) =>
        `${p.bold('missing     ')} ${p.red(`${g.file} (chain ${g.chainId}): LevelDB holds ${g.records} record(s) of it, which a rollback would delete; it refuses (STORE_NOT_FOUND) until the file is back, or is run with --acknowledge ${basename(g.file)}`)}`,
    ),
    // leveldb-only after a rollback that could not read part of JSON: what LevelDB still lacks of it.
    ...(status.notCarriedBack ?? []).map(
      (entry) =>
        `${p.bold('not carried ')} ${p.red(
          `${entry.reason}${entry.missing ? `: ${listed(entry.missing, 5)}` : ''}; ${entry.missing ? '' : 'mend the file (`deploystate merge-resolve` for a merge left unfinished), then '}\`deploystate export json.ndjson --from json\` and \`deploystate import json.ndjson\``,
        )}`,
    ),
    // A network file no script can read (a pull's conflict markers): every read and write of its chain fails.
    ...(status.unreadableFiles ?? []).map(
      (f) => `${p.bold('unreadable  ')} ${p.red(`${f.file} (${f.code}): every read and write of chain ${f.chainId} fails until it is mended${f.hint ? `; ${f.hint}` : ''}`)}`,
    ),
    // [teams] A teammate's rollback, pulled, left this clone's JSON-side writes out of LevelDB: reads miss them.
    ...(status.leftBehind
      ? [
          `${p.bold('left behind ')} ${p.red(
            `${status.leftBehind.carriedBack.length} write(s) this clone made on the JSON side are not in LevelDB (a teammate's rollback, pulled, came first): ${listed(status.leftBehind.carriedBack, 5)}${status.leftBehind.deletes.length > 0 ? `; ${status.leftBehind.deletes.length} delete(s): ${listed(status.leftBehind.deletes, 5)}` : ''}; run \`deploystate rollback\` to carry them back`,
          )}`,
        ]
      : []),
    // [teams] Unknown, not none, while LevelDB cannot be opened: a teammate's rollback may have left writes out.
    ...(status.leftBehindUnknown
      ? [
          `${p.bold('left behind ')} ${p.red(
            `unknown: ${status.leftBehindUnknown.tempFolder !== undefined ? tempFolderProblem(status.leftBehindUnknown.code, status.leftBehindUnknown.tempFolder) : 'LevelDB cannot be opened'} (${status.leftBehindUnknown.code}), so this clone's JSON-side writes cannot be checked against it; once it opens, run \`deploystate status\` again (\`deploystate rollback\` carries back what is missing)`,
          )}`,
        ]
      : []),
    ...(status.state.copy
      ? [
          `${p.bold('copy        ')} ${status.state.copy.completedAt ? `completed ${status.state.copy.completedAt}: ${copyCounts(status.state.copy)}` : `started ${status.state.copy.startedAt ?? '?'}, not finished (resume with \`deploystate migrate --resume\`)`}`,
        ]
      : []),
    `${p.bold('excluded    ')} ${decisions.excluded.length > 0 ? decisions.excluded.join(', ') : 'none'}`,
    `${p.bold('acknowledged')} ${decisions.acknowledged.length > 0 ? `${decisions.acknowledged.length} finding(s), record by record` : 'none'}`,
    ...decisions.acknowledged.map((a) => `              ${describeAcknowledgement(a)}`),
    // The codes and keys the cut-over was told to accept (`cutover --acknowledge`).
    ...(decisions.acknowledgedAtCutover.length > 0
      ? [`${p.bold('at cut-over ')} acknowledged ${decisions.acknowledgedAtCutover.join(', ')}`]
      : []),
    ...leveldbSinceCutoverLines(status.leveldbSinceCutover, p),
    '',
    table(
      ['next command', 'ready', 'blocked by', 'checked when run'],
      next.map((n) => [
        n.command,
        n.ready ? p.green('yes') : p.yellow('no'),
        n.gate !== undefined ? `${n.gate}: ${n.blockedBy ?? ''}` : (n.blockedBy ?? ''),
        (n.checkedWhenRun ?? []).join(', '),
      ]),
      p,
    ),
    ...(probe
      ? [
          '',
          verdict(
            probe.ok,
            p,
            `factory store (${probe.backend}, phase ${probe.phase}) reads ${probe.records} records`,
            `factory store unhealthy: ${probe.detail ?? 'see --json'}`,
          ),
        ]
      : []),
    ...(expect !== undefined ? [verdict(phaseOk, p, `phase is ${expect}`, `phase is ${status.phase}, expected ${expect}`)] : []),
    ...(expect !== undefined && !carriedBackOk
      ? [verdict(false, p, '', `the last rollback did not carry back ${status.notCarriedBack?.length} JSON entr${status.notCarriedBack?.length === 1 ? 'y' : 'ies'} (listed above)`)]
      : []),
  ]);
}

/**
 * What stopped status reading LevelDB when the temp folder could not hold the snapshot copy it
 * reads: that folder, named, never "LevelDB cannot be opened" (deploy scripts open it directly).
 */
function tempFolderProblem(code: string, folder: string): string {
  const what = code === 'DISK_FULL' ? 'is full' : code === 'PERMISSION_DENIED' ? 'is not writable' : 'cannot hold it';
  return `not read: the temp folder ${folder} (TMPDIR), where status copies LevelDB to read it, ${what}; LevelDB itself is not the problem`;
}
