// The state table decides for both `status` and the commands: for every phase and every command,
// status's verdict (not listed / blocked by a gate / ready) is what the command then does.
import { spawnSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGEST_FORMAT, isStateError } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import {
  createDemo,
  GATES,
  GateFailedError,
  Journal,
  Migration,
  PHASE_COMMANDS,
  PHASES,
  stateFiles,
  TRANSITIONS,
  type GateName,
  type MigrationStateFile,
  type ReadOnlyCommand,
  type TransitionName,
  type VerifyEvidence,
} from '../src/index.js';
import { initialState } from '../src/state.js';
import { join } from 'node:path';
import { putRawOutboxEntry } from './outbox-helpers.js';

const RUN: Record<TransitionName, (m: Migration) => Promise<unknown>> = {
  'dual-write enable': (m) => m.enableDualWrite(),
  'dual-write disable': (m) => m.disableDualWrite(),
  migrate: (m) => m.migrate(),
  promote: (m) => m.promote(),
  cutover: (m) => m.cutover(),
  rollback: (m) => m.rollback(),
  'restore leveldb': (m) => m.restoreLevelDb(),
};

const READ_ONLY: Record<ReadOnlyCommand, (m: Migration) => Promise<unknown>> = {
  analyze: (m) => m.analyze(),
  verify: (m) => m.verify(),
  report: (m) => m.report(),
};

const COPIED = '2026-01-01T10:00:00.000Z';
const evidence = (at: string, clean: boolean, journalSeq = 0): VerifyEvidence => ({
  at,
  clean,
  leveldb: { count: 1, digest: 'a' },
  json: { count: 1, digest: clean ? 'a' : 'b' },
  differences: clean ? 0 : 1,
  schemaErrors: 0,
  journalSeq,
  digestFormat: DIGEST_FORMAT,
});
const copy = { startedAt: COPIED, completedAt: COPIED, chainsDone: [], copied: 1 };

interface Scenario {
  name: string;
  state: Partial<MigrationStateFile>;
  /** A write journalled after the last verify, by a process that is gone, with no outcome. */
  openWrite?: boolean;
  /** An outbox entry no drain can apply (its key names no record), so a drain fails. */
  undrainable?: boolean;
  /** The gate status must name for promote (dual-write scenarios), or none when ready. */
  promoteBlockedBy?: GateName | null;
}

const SCENARIOS: Scenario[] = [
  { name: 'leveldb-only', state: { phase: 'leveldb-only' } },
  { name: 'dual-write, no copy', state: { phase: 'dual-write', dualWriteSinceSeq: 0 }, promoteBlockedBy: 'copy completed' },
  {
    name: 'dual-write, copied and diverged',
    state: { phase: 'dual-write', copy, diverged: true, divergedBy: { seq: 1, key: '97-X', at: COPIED } },
    promoteBlockedBy: 'not diverged',
  },
  {
    name: 'dual-write, copied, a drain failed',
    state: { phase: 'dual-write', copy, lastVerify: evidence('2026-01-02T10:00:00.000Z', true) },
    undrainable: true,
    promoteBlockedBy: 'outbox drains',
  },
  {
    name: 'dual-write, verified before the copy',
    state: { phase: 'dual-write', copy, lastVerify: evidence('2025-12-31T10:00:00.000Z', true) },
    promoteBlockedBy: 'verify after copy',
  },
  {
    name: 'dual-write, unclean verify',
    state: { phase: 'dual-write', copy, lastVerify: evidence('2026-01-02T10:00:00.000Z', false) },
    promoteBlockedBy: 'clean verify',
  },
  {
    name: 'dual-write, a write unsettled since the verify',
    state: { phase: 'dual-write', copy, lastVerify: evidence('2026-01-02T10:00:00.000Z', true) },
    openWrite: true,
    promoteBlockedBy: 'writes settled since verify',
  },
  {
    name: 'dual-write, ready to promote',
    state: { phase: 'dual-write', copy, lastVerify: evidence('2026-01-02T10:00:00.000Z', true) },
    promoteBlockedBy: null,
  },
  { name: 'json-primary, diverged', state: { phase: 'json-primary', copy, diverged: true } },
  { name: 'json-primary', state: { phase: 'json-primary', copy, lastVerify: evidence('2026-01-02T10:00:00.000Z', true) } },
  { name: 'json-only', state: { phase: 'json-only', copy } },
  {
    name: 'rolling-back',
    state: { phase: 'rolling-back', rollback: { from: 'json-only', startedAt: COPIED, emergency: false, carriedBack: false } },
  },
];

let template: string;
/** The pid of a process that has exited: its open writes never close, so nothing waits for them. */
let deadPid: number;
const dirs: string[] = [];

beforeAll(async () => {
  template = await makeTempDir('migrator-machine-template-');
  await createDemo(template);
  deadPid = spawnSync(process.execPath, ['-e', '']).pid as number;
});

afterAll(async () => {
  for (const dir of [template, ...dirs]) await removeTempDir(dir);
});

async function prepare(scenario: Scenario): Promise<Migration> {
  const dir = await makeTempDir('migrator-machine-');
  dirs.push(dir);
  await cp(template, dir, { recursive: true });
  const files = stateFiles((await Migration.open({ cwd: dir })).paths);
  await mkdir(files.stateDir, { recursive: true });
  if (scenario.openWrite) {
    const journal = new Journal(files.journal, files.journalLock);
    await journal.appendOne({ type: 'intent', key: '97-X', op: 'delete', digest: null, time: COPIED, pid: deadPid, phase: 'dual-write' });
    await journal.close();
  }
  await writeFile(files.state, `${JSON.stringify({ ...initialState(), ...scenario.state }, null, 2)}\n`);
  if (scenario.undrainable) {
    await putRawOutboxEntry(files.leveldb, { key: 'not-a-record-key', op: 'put', seq: 1, pid: deadPid, ms: 0 });
    // A drain found it: the failure is on record, as a deploy script's drainer leaves it.
    await writeFile(
      join(files.stateDir, 'outbox-error.json'),
      `${JSON.stringify({ key: 'not-a-record-key', message: 'not a record key', at: COPIED, pid: deadPid })}\n`,
    );
  }
  return Migration.open({ cwd: dir });
}

describe('status and the commands decide from one table', () => {
  it('every phase is covered, and every recorded gate blocks some scenario', () => {
    expect(new Set(SCENARIOS.map((s) => s.state.phase))).toEqual(new Set(PHASES));
    const blocking = new Set(SCENARIOS.map((s) => s.promoteBlockedBy).filter((g) => g));
    for (const gate of Object.keys(GATES)) if (gate !== 'not diverged') expect(blocking).toContain(gate);
    expect(blocking).toContain('not diverged');
  });

  for (const scenario of SCENARIOS) {
    for (const command of Object.keys(TRANSITIONS) as TransitionName[]) {
      it(`${scenario.name}: ${command}`, async () => {
        const migration = await prepare(scenario);
        const line = (await migration.status()).next.find((n) => n.command === command);
        if (scenario.promoteBlockedBy !== undefined && command === 'promote') {
          expect(line?.gate ?? null).toBe(scenario.promoteBlockedBy);
        }
        const outcome = await RUN[command](migration).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (scenario.promoteBlockedBy === null && command === 'promote') expect(outcome).toBeUndefined();
        if (line === undefined) {
          // Not listed for this phase: refused by phase, before any gate.
          expect(PHASE_COMMANDS[scenario.state.phase ?? 'leveldb-only']).not.toContain(command);
          expect(outcome).toMatchObject({ code: 'TRANSITION_REFUSED' });
        } else if (!line.ready && line.gate === undefined) {
          // Blocked by what status finds beyond the table (a network file gone whole, records lost
          // from one): the command fails with the code status named.
          expect(isStateError(outcome), String(outcome)).toBe(true);
          expect(line.blockedBy).toContain(`(${(outcome as { code: string }).code})`);
        } else if (!line.ready) {
          // Blocked: the command fails on exactly the gate status named.
          expect(outcome).toBeInstanceOf(GateFailedError);
          expect(outcome).toMatchObject({ code: 'GATE_FAILED', gate: line.gate });
        } else if (outcome !== undefined) {
          // Ready: never refused by phase or by a recorded gate; only a gate checked at run time
          // that status listed, or the command's own work failing (as a code, not a refusal).
          expect(isStateError(outcome)).toBe(true);
          expect(outcome).not.toMatchObject({ code: 'TRANSITION_REFUSED' });
          if (outcome instanceof GateFailedError) expect(line.checkedWhenRun).toContain(outcome.gate);
          else expect(outcome).not.toMatchObject({ code: 'GATE_FAILED' });
        }
      });
    }
  }

  // Read-only commands run in every phase: where status lists them they are ready, and nowhere
  // does the phase or a gate refuse them.
  for (const phase of PHASES) {
    const scenario = SCENARIOS.find((s) => s.state.phase === phase) as Scenario;
    for (const command of Object.keys(READ_ONLY) as ReadOnlyCommand[]) {
      it(`${scenario.name}: ${command} (read-only)`, async () => {
        const migration = await prepare(scenario);
        const line = (await migration.status()).next.find((n) => n.command === command);
        if (line !== undefined) expect(line).toEqual({ command, ready: true });
        const outcome = await READ_ONLY[command](migration).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(outcome).not.toMatchObject({ code: 'TRANSITION_REFUSED' });
        expect(outcome).not.toMatchObject({ code: 'GATE_FAILED' });
      });
    }
  }
});
