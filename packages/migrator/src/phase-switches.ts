// The bodies of the commands that only switch the phase (dual-write enable and disable, promote):
// each admits itself, settles what the switch depends on, then switches under the gate fence.
import type { CommandContext } from './command-context.js';
import { admit, transition } from './command-gates.js';
import { isoNow } from './context.js';
import { assertFilesIntact, coownedContext, foreignOverwriteError, OverwriteWatch } from './coowned.js';
import { underGateFence } from './fence.js';
import { DUAL_WRITE_ENABLED } from './journal.js';
import { assertRunGate } from './machine.js';
import { readOutboxFailure } from './outbox-drainer.js';
import { drainForGate } from './outbox-status.js';
import { readState } from './state.js';

export async function enableDualWrite(c: CommandContext): Promise<void> {
  // Both sides opened before the fence: taking LevelDB from a deploy script that holds it is a
  // hand-over, which writers waiting for the fence would wait for as well. Under it they are
  // reachable still, and nothing there needs LevelDB's lock again.
  await admit(c, 'dual-write enable');
  await c.ctx.leveldb();
  await c.ctx.json();
  // Under the fence: a LevelDB-only write still in flight lands before the switch, never after the copy read its chain.
  return underGateFence(c.files, 'dual-write enable', async () => {
    const started = c.clock();
    await admit(c, 'dual-write enable');
    // Both sides must be reachable before any deploy script starts writing to both.
    await c.ctx.leveldb();
    await c.ctx.json();
    const event = await c.journal.appendOne({
      type: 'event',
      event: DUAL_WRITE_ENABLED,
      time: isoNow(c.ctx),
      pid: process.pid,
      phase: 'dual-write',
    });
    await transition(c, 'dual-write enable', started, (s) => {
      s.dualWriteSinceSeq = event.seq;
      s.rollback = null;
      // A rollback cut off after phase.json, or a teammate's pulled through git (state.json is this
      // clone's own), leaves the old cut-over's evidence: the new report would show it as its own.
      s.cutoverEvidence = null;
      // A copy or verify from before this enable missed every leveldb-only write since: never
      // evidence for promote. A disable cut off after phase.json (killed, disk full) leaves them.
      s.copy = null;
      s.lastVerify = null;
    });
  });
}

export function disableDualWrite(c: CommandContext): Promise<void> {
  return underGateFence(c.files, 'dual-write disable', async () => {
    const started = c.clock();
    await admit(c, 'dual-write disable');
    // JSON gets what LevelDB acknowledged before it stops being written, every entry however many:
    // in leveldb-only nothing writes JSON, so an entry left behind stays in LevelDB (committed to
    // git). LevelDB is held from the drain to the switch, as promote holds it: outbox writes take
    // no fence, and holding LevelDB keeps them out, so the drain ends (one round per 500 entries).
    const leveldb = await c.ctx.leveldb();
    await leveldb.holdWhile(async () => {
      const drained = await drainForGate(c.ctx, undefined, { untilEmpty: true });
      // One that failed keeps its entries and the phase: rollback ends dual-write without them (it drops and journals them).
      if (drained.failed > 0)
        assertRunGate(
          'outbox drained',
          { failed: drained.failed, failure: await readOutboxFailure(c.files) },
          c.files.state,
          'fix the cause shown by status and run dual-write disable again, or rollback (it ends dual-write without those writes in JSON, journalled)',
        );
      await c.journal.appendOne({
        type: 'event',
        event: 'dual-write-disabled',
        time: isoNow(c.ctx),
        pid: process.pid,
        phase: 'leveldb-only',
      });
      await transition(c, 'dual-write disable', started, (s) => {
        s.dualWriteSinceSeq = null;
        s.copy = null;
        s.lastVerify = null;
      });
    });
  });
}

export function promote(c: CommandContext): Promise<void> {
  // The gates (a clean verify, every write since settled) and the switch see no write in flight.
  return underGateFence(c.files, 'promote', async () => {
    const started = c.clock();
    // [coowned] The whole check before LevelDB is held (deploy scripts keep writing meanwhile); the
    // drain below checks each file again right before it writes it.
    const watch = new OverwriteWatch(coownedContext(c.ctx), () => undefined);
    await watch.seenNow();
    await assertFilesIntact(coownedContext(c.ctx), 'promote');
    // A drain that failed earlier (a disk full since freed) is tried once more before the gate judges
    // its failure: nothing else would drain it but a deploy script or migrate.
    if ((await readOutboxFailure(c.files)) !== null && (await readState(c.files)).phase === 'dual-write') {
      const retried = await (await c.ctx.leveldb()).holdWhile(() => drainForGate(c.ctx, watch, { untilEmpty: true }));
      if (retried.overwrites.length > 0) throw foreignOverwriteError(retried.overwrites, 'promote'); // [coowned]
    }
    // LevelDB held from the drain to the switch, and for nothing else: every write LevelDB
    // acknowledged is in JSON first, and a writer that waited for LevelDB finds the new phase.
    // The gates decided before LevelDB is held: under the fence nothing but this drain journals,
    // so only a drain that failed can change them.
    await admit(c, 'promote');
    const leveldb = await c.ctx.leveldb();
    await leveldb.holdWhile(async () => {
      // Every entry, however many: JSON is read from the switch on, and one it lacks is a contract a
      // deploy script does not find (and deploys again).
      const drained = await drainForGate(c.ctx, watch, { untilEmpty: true });
      // A drain that failed leaves its failure for the gate: refused as "outbox drains".
      if (drained.failed > 0) await admit(c, 'promote');
      if (drained.overwrites.length > 0) throw foreignOverwriteError(drained.overwrites, 'promote'); // [coowned]
      await transition(c, 'promote', started);
    });
  });
}
