// `deploystate rollback`: back to leveldb-only with every journalled write carried back.
// `--emergency` (or EMERGENCY_ROLLBACK=true) skips the gates, never the carry-back.
import { readFileSync } from 'node:fs';
import { sharedStateFile } from '@deploystate/migrator';
import type { Context } from '../context.js';
import { withMigration } from '../migration.js';
import { table } from '../output.js';
import { listed, renderReadiness, verdict } from '../render.js';
import { commitLines } from '../commit-hint.js';
import { listOption } from './migrate.js';

export function emergencyRequested(options: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): boolean {
  return options.emergency === true || env.EMERGENCY_ROLLBACK?.toLowerCase() === 'true';
}

export async function run(ctx: Context, _args: unknown[], options: Record<string, unknown>): Promise<void> {
  const p = ctx.out.paint;
  // Network files the operator says are gone on purpose: their chain's LevelDB records may go too.
  const acknowledge = listOption(options.acknowledge);
  await withMigration(ctx, async (migration) => {
    if (options.ready === true) {
      const readiness = await migration.rollbackReadiness({ acknowledge });
      if (!readiness.ready) ctx.exitCode = 1;
      ctx.out.result(readiness, () => renderReadiness(readiness, p, 'rollback is ready', 'rollback is NOT ready'));
      return;
    }
    const emergency = emergencyRequested(options);
    const dryRun = options.dryRun === true;
    // Not status: that reads the whole journal more than once; the prompt needs the writes since dual-write enable.
    const scope = await migration.rollbackScope({ count: !dryRun });
    if (scope.phase === 'leveldb-only') {
      // Nothing to switch. A teammate's rollback (pulled) may have left this clone's JSON-side writes
      // out of LevelDB: those are carried back (no question: only what LevelDB lacks, or holds older).
      const report = await migration.rollback({ emergency, dryRun, acknowledge });
      const left = report.leftBehind;
      if (left === undefined || report.nothingToDo) {
        // Run again after a rollback that could not read part of JSON: not "holds every write" while
        // LevelDB lacks it. Only then is status read (the journal, a LevelDB snapshot): it says what is
        // still lacking; with nothing recorded, nothing can be.
        const lacking = scope.notCarriedBack.length > 0 ? (await migration.status()).notCarriedBack : undefined;
        if (lacking) ctx.exitCode = 1;
        ctx.out.result({ ...report, ...(lacking && { notCarriedBack: lacking }) }, () => [
          verdict(
            lacking === undefined,
            p,
            'already leveldb-only: LevelDB is the primary and holds every write; nothing to roll back',
            `already leveldb-only, but the last rollback could not carry back ${lacking?.length} JSON entr${lacking?.length === 1 ? 'y' : 'ies'}: ${listed((lacking ?? []).map((entry) => entry.reason), 5)}; \`deploystate status\` says how to bring them in`,
          ),
        ]);
        return;
      }
      const commit = !dryRun && left.carriedBack.length > 0 ? await commitLines(ctx) : [];
      ctx.out.result(report, () => [
        `${dryRun ? 'would carry' : 'carried'} back ${left.carriedBack.length} write(s) this clone made on the JSON side, which a teammate's rollback (pulled) had left out of LevelDB${left.carriedBack.length > 0 ? `: ${listed(left.carriedBack, 10)}` : ''}`,
        ...(left.newerInLevelDb.length > 0 ? [p.dim(`kept ${left.newerInLevelDb.length} that LevelDB holds newer: ${listed(left.newerInLevelDb, 10)}`)] : []),
        ...(left.deletes.length > 0
          ? [p.yellow(`not carried back: ${left.deletes.length} delete(s) made on the JSON side (LevelDB may hold a newer write of the key; delete by hand if it should go): ${listed(left.deletes, 10)}`)]
          : []),
        verdict(true, p, dryRun ? 'dry run: nothing changed' : 'LevelDB holds this clone\'s writes again; next: `deploystate status`', ''),
        ...commit,
      ]);
      return;
    }
    if (!dryRun) {
      await ctx.confirm(emergency ? 'EMERGENCY rollback' : 'rollback', [
        // A rollback stopped part-way is already rolling-back: each phase is named once.
        `switch phase ${[...new Set([scope.phase, 'rolling-back', 'leveldb-only'])].join(' -> ')} (writes are refused while it runs)`,
        `replay into LevelDB every write journalled since dual-write enable${scope.sinceSeq !== null ? ` (journal seq > ${scope.sinceSeq}: ${scope.writes} write(s) to ${scope.keys} key(s))` : ''}`,
        emergency ? 'skip the gates (emergency), never the carry-back' : 'check the rollback gates first',
        `keep the JSON files in ${scope.paths.deployments}`,
        scope.fromJson
          ? 'make LevelDB equal to the JSON files (teammates\' pulled writes too): records JSON no longer holds are deleted from LevelDB (`deploystate rollback --dry-run` names them first)'
          : 'change or delete no record LevelDB holds (in dual-write it was written first)',
        ...(acknowledge.length > 0 && scope.fromJson
          ? [`acknowledged gone on purpose: ${acknowledge.join(', ')}: where such a network file is missing, every record LevelDB holds of its chain is deleted`]
          : []),
      ]);
    }
    if (!dryRun) ctx.onInterrupt(() => interruptedRollback(scope.paths.stateDir));
    const report = await migration.rollback({ emergency, dryRun, acknowledge });
    // The phase switched, but LevelDB lacks what it could not read: a script running the runbook's
    // emergency step must not take this for a whole rollback (exit 1).
    const incomplete = !dryRun && (report.unreadableInJson?.length ?? 0) > 0;
    const commit = dryRun ? [] : await commitLines(ctx);
    if (incomplete) ctx.exitCode = 1;
    ctx.out.result(report, () => [
      table(
        ['from', 'emergency', 'keys carried back', 'written to LevelDB', 'deleted', 'time'],
        [[report.from, report.emergency ? 'yes' : 'no', report.replayed, report.puts, report.deletes, `${report.durationMs}ms`]],
        p,
      ),
      // The plan counted before the rollback paused the writers; the keys LevelDB held as JSON does needed no write.
      ...(report.replayed > 0
        ? [
            p.dim(
              `  of ${report.replayed} key(s) carried back (counted as the writers paused, so more than planned when scripts wrote meanwhile), LevelDB lacked or held otherwise ${report.puts}, ${dryRun ? 'which it would write' : 'written now'}; it held the rest as JSON does`,
            ),
          ]
        : []),
      `LevelDB digest ${report.leveldbDigest}`,
      // Records JSON no longer holds leave LevelDB: named, so a record dropped by mistake is seen before (--dry-run) or after.
      ...(report.deletedKeys?.length
        ? [p.yellow(`${dryRun ? 'would delete' : 'deleted'} from LevelDB (JSON no longer holds them): ${listed(report.deletedKeys, 10)}`)]
        : []),
      ...(report.acknowledgedGone?.length
        ? [
            p.yellow(
              `${dryRun ? 'would delete' : 'deleted'} every LevelDB record of ${report.acknowledgedGone.map((g) => `${g.file} (chain ${g.chainId}: ${g.records})`).join(', ')}: missing, and acknowledged gone on purpose`,
            ),
          ]
        : []),
      ...(report.outboxDropped?.length
        ? [
            p.dim(
              `${dryRun ? 'would leave' : 'left'} the outbox: ${report.outboxDropped.length} write(s) JSON never received (LevelDB holds them; JSON is no longer written): ${listed(report.outboxDropped, 10)}`,
            ),
          ]
        : []),
      // Never a silent success: what JSON could not read was carried back only as this clone journalled it.
      ...(report.unreadableInJson?.length
        ? [
            p.yellow(
              `${dryRun ? 'could not read' : 'could not read, so carried back only this clone\'s journalled writes for'} ${report.unreadableInJson.length} JSON entr${report.unreadableInJson.length === 1 ? 'y' : 'ies'}: ${listed(
                report.unreadableInJson.map((entry) => `${entry.file ?? entry.key} (${entry.code})`),
                10,
              )}. Records only they hold (a teammate's pulled writes) are not in LevelDB: mend them (\`deploystate merge-resolve\` for a merge left unfinished), then \`deploystate export json.ndjson --from json\` and \`deploystate import json.ndjson\``,
            ),
          ]
        : []),
      verdict(
        !incomplete,
        p,
        dryRun ? 'dry run: nothing changed' : 'rolled back: phase leveldb-only; next: `deploystate status --expect leveldb-only`',
        'rolled back to leveldb-only, but not all of JSON: `deploystate status` lists what LevelDB still lacks until it is mended and imported',
      ),
      ...commit,
    ]);
  });
}

/** What a rollback stopped by a signal leaves: the phase as the committed phase file says now. */
function interruptedRollback(stateDir: string): string {
  let phase: string | undefined;
  try {
    phase = (JSON.parse(readFileSync(sharedStateFile(stateDir), 'utf8')) as { phase?: string }).phase;
  } catch {
    phase = undefined;
  }
  if (phase === 'rolling-back')
    return 'the rollback stopped in rolling-back: deploy scripts\' writes are refused (WRITES_REFUSED after about 2 s) until `deploystate rollback` runs again and finishes the carry-back; nothing journalled is lost';
  if (phase === 'leveldb-only') return 'the rollback had finished: the phase is leveldb-only';
  return `the rollback stopped before it switched anything${phase ? ` (the phase is still ${phase})` : ''}: run the command again`;
}
