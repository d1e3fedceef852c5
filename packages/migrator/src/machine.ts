// The migration's state machine as data: the phases, the commands each allows, and the gates of
// each transition. The commands and `status` both decide through `mayRun`, so a gate is defined
// once and `status` can never call a command ready that the command itself will refuse.
import { DIGEST_FORMAT, ErrorCodes, StateError } from '@deploystate/core';
import type { ReadinessReport, MigrationPhase, MigrationStateFile, VerifyEvidence } from './types.js';

/**
 * What drains an outbox whose last drain failed, once its cause (a full disk, a file's mode) is
 * fixed: promote tries once more itself; migrate drains before it copies, a deploy script's store after its writes.
 */
export const OUTBOX_DRAIN_NEXT =
  'fix the cause (`deploystate status` shows the disk), then `deploystate migrate` drains it (promote also tries once more before this gate); so does any deploy script that opens the store';

/** The persisted phases, in the order the migration walks them. */
export const PHASES: readonly MigrationPhase[] = ['leveldb-only', 'dual-write', 'json-primary', 'json-only', 'rolling-back'];

/** What a gate passes, or why it does not: one reason per line of the refusal. */
export type GateResult = { pass: true } | { pass: false; reasons: string[] };

const pass: GateResult = { pass: true };
const fail = (...reasons: string[]): GateResult => ({ pass: false, reasons });

/** A write the journal holds an intent for and no outcome yet. */
export interface OpenWrite {
  key: string;
  seq: number;
}

/**
 * What the recorded gates decide on: the persisted state, and the writes journalled after the last
 * verify that have no outcome. Both are cheap to read, so `status` gathers the same facts the
 * command does (the command first waits, bounded, for live writers to close their writes).
 */
export interface GateFacts {
  state: MigrationStateFile;
  openSinceVerify: readonly OpenWrite[];
  /** The last failure to bring JSON up to date from the LevelDB outbox, while it stands. */
  outboxError?: { key: string; code?: string; message: string } | null;
}

/**
 * The gates decided from recorded facts. Each is one function; a transition lists them by name,
 * in the order they are checked. To add a gate: add it here and name it in a command's `gates`.
 */
export const GATES = {
  'copy completed': ({ state }: GateFacts): GateResult =>
    state.copy?.completedAt !== undefined ? pass : fail('no completed bulk copy; run migrate'),

  'not diverged': ({ state }: GateFacts): GateResult =>
    !state.diverged
      ? pass
      : fail(
          `a dual write diverged${state.divergedBy ? ` at ${state.divergedBy.key} (seq ${state.divergedBy.seq})` : ''}; write the key again through the store, then run verify until clean`,
        ),

  // A write LevelDB acknowledged that the drainer could not apply to JSON: like a divergence, the
  // JSON side is missing it until a drain succeeds.
  'outbox drains': ({ outboxError }: GateFacts): GateResult =>
    !outboxError
      ? pass
      : fail(`dual-write could not bring JSON up to date at ${outboxError.key} (${outboxError.code ?? 'error'}: ${outboxError.message}); ${OUTBOX_DRAIN_NEXT}`),

  'verify after copy': ({ state }: GateFacts): GateResult => {
    const v = state.lastVerify;
    const copied = state.copy?.completedAt;
    if (!v || copied === undefined || v.at < copied) return fail('no verify since the copy completed; run verify');
    // Digests in another canonical format (evidence from an earlier version) compare nothing: stale.
    if (v.digestFormat !== DIGEST_FORMAT)
      return fail(`the last verify's digests are in format ${v.digestFormat ?? 1}, this version makes format ${DIGEST_FORMAT}; run verify`);
    return pass;
  },

  'clean verify': ({ state }: GateFacts): GateResult => {
    const v = state.lastVerify;
    if (!v) return fail('no verify recorded; run verify');
    return v.clean ? pass : fail(`the last verify found ${v.differences} difference(s) and ${v.schemaErrors} schema error(s)`);
  },

  // A write after the verify that never closed (its process died between LevelDB and JSON, or is
  // still running) may be on LevelDB alone: the verify says nothing about it.
  'writes settled since verify': ({ openSinceVerify }: GateFacts): GateResult => {
    const first = openSinceVerify[0];
    return first === undefined
      ? pass
      : fail(
          `${openSinceVerify.length} write(s) since the last verify have no outcome (first: ${first.key} at seq ${first.seq}); run verify (and migrate if it finds differences)`,
        );
  },
} as const satisfies Record<string, (facts: GateFacts) => GateResult>;

export type GateName = keyof typeof GATES;

/** What the cut-over's findings gates compare: JSON's findings against those LevelDB already has. */
export interface FindingsFacts {
  /** Findings (error or warning) in the JSON files that LevelDB does not have. */
  fresh: ReadonlyArray<{ code: string; key?: string; file?: string }>;
  /** Findings in the JSON files not acknowledged by code, key or file. */
  unacknowledged: ReadonlyArray<{ code: string; key?: string }>;
}

/**
 * The gates a command can only decide when it runs, on work it does then (a fresh verify, the
 * findings of both sides, the chains, rollback readiness). `status` lists them as checked when
 * run; it never calls them passed.
 */
/** At most this many keys of each finding code are named in a gate's reason; the rest are counted. */
const KEYS_NAMED_PER_CODE = 5;

/**
 * Findings grouped by code, a few keys named for each: `INVALID_ADDRESS 31337-LookCoin,
 * 31337-TestToken; NETWORK_MISMATCH 56-A, 56-B (and 1298 more)`. One line of every key of 1,300
 * findings buried the hint that follows it.
 */
function findingsByCode(findings: ReadonlyArray<{ code: string; key?: string; file?: string }>): string {
  const byCode = new Map<string, string[]>();
  for (const f of findings) {
    const where = f.key ?? f.file ?? '';
    const list = byCode.get(f.code) ?? [];
    if (!list.includes(where)) list.push(where);
    byCode.set(f.code, list);
  }
  return [...byCode]
    .map(([code, where]) => {
      const named = where.filter(Boolean).slice(0, KEYS_NAMED_PER_CODE);
      const more = where.length - named.length;
      return `${code}${named.length > 0 ? ` ${named.join(', ')}` : ''}${more > 0 ? ` (and ${more} more)` : ''}`;
    })
    .join('; ');
}

export const RUN_GATES = {
  'fresh clean verify': (v: VerifyEvidence): GateResult =>
    v.clean ? pass : fail(`${v.differences} difference(s), ${v.schemaErrors} schema error(s)`),

  'no new findings': ({ fresh }: FindingsFacts): GateResult =>
    fresh.length === 0
      ? pass
      : fail(
          `${fresh.length} finding(s) in the JSON files that LevelDB does not have: ${fresh
            .slice(0, 10)
            .map((f) => `${f.code} ${f.key ?? f.file ?? ''}`)
            .join(', ')}`,
        ),

  'acknowledged findings': ({ unacknowledged }: FindingsFacts): GateResult =>
    unacknowledged.length === 0 ? pass : fail(`pre-existing findings must be acknowledged (by code or key): ${findingsByCode(unacknowledged)}`),

  soak: ({ round, of, evidence }: { round: number; of: number; evidence: VerifyEvidence }): GateResult =>
    evidence.clean ? pass : fail(`verify ${round} of ${of} found ${evidence.differences} difference(s)`),

  'chain verification': (chain: { ok: boolean; counts: { error: number } }): GateResult =>
    chain.ok ? pass : fail(`${chain.counts.error} JSON record(s) with errors against the chains`),

  // dual-write disable: in leveldb-only nothing writes JSON, so an entry its drain could not apply
  // would stay in LevelDB (committed to git). The drain runs with the switch, so only the run knows.
  'outbox drained': ({ failed, failure }: { failed: number; failure: { key: string; code?: string; message: string } | null }): GateResult =>
    failed === 0
      ? pass
      : fail(
          `${failed} write(s) could not be brought to JSON${failure ? ` (${failure.key}: ${failure.code ?? 'error'}: ${failure.message})` : ''}; the phase stays dual-write`,
        ),

  'rollback readiness': (ready: ReadinessReport): GateResult => {
    const failed = ready.checks.filter((c) => !c.ok);
    return failed.length === 0 ? pass : fail(...failed.map((c) => `${c.name} (${c.detail})`));
  },
} as const;

export type RunGateName = keyof typeof RUN_GATES;

/** A command that changes the phase or the data, and so is gated. */
export interface Transition {
  /** The phase it leads to; null when the phase stays. */
  to: MigrationPhase | null;
  /** Recorded gates, checked in this order; the first that fails refuses the command. */
  gates: readonly GateName[];
  /** Gates checked while the command runs (see RUN_GATES). */
  atRun: readonly RunGateName[];
  /** Why a command is refused where the phase table does not allow it. */
  hint?: string;
}

export const TRANSITIONS = {
  'dual-write enable': { to: 'dual-write', gates: [], atRun: [] },
  'dual-write disable': { to: 'leveldb-only', gates: [], atRun: ['outbox drained'] },
  migrate: { to: null, gates: [], atRun: [] },
  promote: {
    to: 'json-primary',
    gates: ['copy completed', 'not diverged', 'outbox drains', 'verify after copy', 'clean verify', 'writes settled since verify'],
    atRun: [],
  },
  cutover: {
    to: 'json-only',
    gates: ['not diverged'],
    atRun: ['fresh clean verify', 'no new findings', 'acknowledged findings', 'soak', 'chain verification'],
  },
  rollback: { to: 'leveldb-only', gates: [], atRun: ['rollback readiness'] },
  'restore leveldb': { to: null, gates: [], atRun: [], hint: 'run `deploystate rollback` first' },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Commands that never change the phase or data; they run in every phase. */
export type ReadOnlyCommand = 'analyze' | 'verify' | 'report';

export type CommandName = TransitionName | ReadOnlyCommand;

/**
 * Each phase's commands, in the order `status` shows them. A transition runs only in the phases
 * that list it; a read-only command runs anywhere and is listed where it is the useful next step.
 */
export const PHASE_COMMANDS: Record<MigrationPhase, readonly CommandName[]> = {
  'leveldb-only': ['analyze', 'dual-write enable', 'restore leveldb', 'rollback'],
  'dual-write': ['migrate', 'verify', 'promote', 'dual-write disable', 'rollback'],
  'json-primary': ['verify', 'cutover', 'rollback'],
  'json-only': ['report', 'rollback'],
  'rolling-back': ['rollback'],
};

const isTransition = (command: CommandName): command is TransitionName => Object.hasOwn(TRANSITIONS, command);

/** The phases a transition runs in, read off the phase table. */
export function allowedIn(command: TransitionName): MigrationPhase[] {
  return PHASES.filter((phase) => PHASE_COMMANDS[phase].includes(command));
}

export type Verdict =
  | { allowed: false }
  | { allowed: true; ready: true; atRun: readonly RunGateName[] }
  | { allowed: true; ready: false; gate: GateName; reasons: string[]; atRun: readonly RunGateName[] };

/** Whether `command` may run on these facts, and if not, the first gate that refuses it and why. */
export function mayRun(command: TransitionName, facts: GateFacts): Verdict {
  if (!PHASE_COMMANDS[facts.state.phase].includes(command)) return { allowed: false };
  const transition: Transition = TRANSITIONS[command];
  for (const gate of transition.gates) {
    const result = GATES[gate](facts);
    if (!result.pass) return { allowed: true, ready: false, gate, reasons: result.reasons, atRun: transition.atRun };
  }
  return { allowed: true, ready: true, atRun: transition.atRun };
}

/** One line of `status`'s next commands. */
export interface NextCommand {
  command: CommandName;
  ready: boolean;
  /** The first gate that fails, and why. */
  blockedBy?: string;
  gate?: GateName;
  /** Gates the command checks only when it runs. */
  checkedWhenRun?: RunGateName[];
}

/** The phase's commands with what each still needs: what `status` shows. */
export function nextCommands(facts: GateFacts): NextCommand[] {
  return PHASE_COMMANDS[facts.state.phase].map((command): NextCommand => {
    if (!isTransition(command)) return { command, ready: true };
    const verdict = mayRun(command, facts);
    if (!verdict.allowed) throw new Error(`${command} is listed for ${facts.state.phase} but not allowed there`);
    const atRun = verdict.atRun.length > 0 ? { checkedWhenRun: [...verdict.atRun] } : {};
    return verdict.ready
      ? { command, ready: true, ...atRun }
      : { command, ready: false, blockedBy: verdict.reasons.join('; '), gate: verdict.gate, ...atRun };
  });
}

/** GATE_FAILED with the gate's name kept as data, so callers and tests need not read the message. */
export class GateFailedError extends StateError {
  readonly gate: GateName | RunGateName;
  readonly reasons: string[];

  constructor(
    gate: GateName | RunGateName,
    reasons: string[],
    file: string | undefined,
    hint?: string,
    data?: Record<string, unknown>,
  ) {
    super(ErrorCodes.GATE_FAILED, `gate "${gate}" not satisfied: ${reasons.join('; ')}`, {
      ...(file !== undefined && { file }),
      hint: hint ?? `satisfy "${gate}" first (see status)`,
      // For machines (--json error.details): the gate, and the lists a caller acts on.
      data: { gate, reasons, ...data },
    });
    this.gate = gate;
    this.reasons = reasons;
  }
}

/** What a refusal says to run instead: the commands `phase` allows (the phase table's), as they are typed. */
export function allowedCommandsHint(phase: MigrationPhase): string {
  return `${phase} allows ${PHASE_COMMANDS[phase].map((command) => `\`deploystate ${command}\``).join(', ')} (\`deploystate status\` shows what each still needs)`;
}

/** TRANSITION_REFUSED naming the command, the phase and where it is allowed. */
export function transitionRefused(command: TransitionName, phase: MigrationPhase, file: string): StateError {
  const transition: Transition = TRANSITIONS[command];
  return new StateError(ErrorCodes.TRANSITION_REFUSED, `${command} is not allowed in ${phase} (only in ${allowedIn(command).join(', ')})`, {
    file,
    hint: transition.hint ?? allowedCommandsHint(phase),
  });
}

/** What the commands call: returns when `command` may run on these facts, else throws the refusal. */
export function assertMayRun(command: TransitionName, facts: GateFacts, file: string): void {
  const verdict = mayRun(command, facts);
  if (!verdict.allowed) throw transitionRefused(command, facts.state.phase, file);
  if (!verdict.ready) throw new GateFailedError(verdict.gate, verdict.reasons, file);
}

/** Throws GATE_FAILED when a gate checked at run time does not pass. */
export function assertRunGate<G extends RunGateName>(
  gate: G,
  input: Parameters<(typeof RUN_GATES)[G]>[0],
  file: string | undefined,
  hint?: string,
  data?: Record<string, unknown>,
): void {
  const result = (RUN_GATES[gate] as (input: unknown) => GateResult)(input);
  if (!result.pass) throw new GateFailedError(gate, result.reasons, file, hint, data);
}
