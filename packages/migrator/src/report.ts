// The runbook's "Migration Completion Report", filled with real figures: phases and durations
// from the state, records and digests from both stores, error rate, availability and latency
// from the journal (so every deploy script's operations count), as Markdown and as JSON.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { countBySeverity, digestStore, tryParseKey, type StateStore, type StoreSide } from '@deploystate/core';
import { isoNow, type MigrationContext } from './context.js';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { unreadableFiles } from './unreadable.js';
import { routeFor } from './routing.js';
import { readState } from './state.js';
import { readChainVerificationRecord } from './chain-evidence.js';
import { readAnalysisFigures } from './analysis.js';
import { usable } from './command-records.js';
import type { MigrationReport, MigrationStateFile, PhaseTiming, VerifyEvidence } from './types.js';

interface PhaseLine {
  phase: string;
  status: 'done' | 'failed' | 'pending';
  durationMs: number;
  /** Done by the phase the team is in, with no timing in this clone (a teammate ran it, or it was cut off after the switch). */
  timedElsewhere?: true;
}

/** How far each phase has taken the runbook: a later phase means each earlier step was done, here or in another clone. */
const PHASE_REACHED: Record<string, number> = { 'leveldb-only': 1, 'dual-write': 2, 'json-primary': 4, 'json-only': 5 };

const RUNBOOK_PHASES: Array<{ name: string; commands: string[] }> = [
  { name: 'Phase 1 (Pre-Migration)', commands: ['analyze'] },
  { name: 'Phase 2 (Dual-Write)', commands: ['dual-write enable'] },
  { name: 'Phase 3 (Data Migration)', commands: ['migrate'] },
  { name: 'Phase 4 (Validation)', commands: ['verify', 'promote'] },
  { name: 'Phase 5 (Cutover)', commands: ['cutover'] },
];

/**
 * The timings of this attempt at the migration: from the last `dual-write enable` that succeeded
 * (every one, before any), and how many attempts before it a rollback or disable ended. After
 * several cycles the report's phases and total are this attempt's, not sums over all of them.
 */
function thisAttempt(timings: readonly PhaseTiming[]): { timings: PhaseTiming[]; earlier: number } {
  const enables = timings.filter((t) => t.phase === 'dual-write enable' && t.status === 'done');
  const last = enables.at(-1);
  if (last === undefined) return { timings: [...timings], earlier: 0 };
  const from = Date.parse(last.startedAt);
  return { timings: timings.filter((t) => Date.parse(t.startedAt) >= from), earlier: enables.length - 1 };
}

/** The commands that end a migration's attempt, back in `leveldb-only`. */
const BACK_TO_LEVELDB = new Set(['dual-write disable', 'rollback', 'rollback (emergency)']);

/**
 * The timings without the verify runs made in `leveldb-only` (before any `dual-write enable`, or
 * after a disable or rollback): evidence of nothing, as `status` says ("last verify never"), so
 * they neither fail Phase 4 nor count in the duration. A phase past `leveldb-only` whose enable this
 * clone did not run (a teammate's, pulled) makes the verify runs since this clone's last switch back count.
 */
function withoutLevelDbOnlyVerifies(timings: readonly PhaseTiming[], phase: string): PhaseTiming[] {
  let on = false;
  let lastSwitch = -1;
  const kept = new Set<number>();
  timings.forEach((t, index) => {
    const switched = t.status === 'done' && (t.phase === 'dual-write enable' || BACK_TO_LEVELDB.has(t.phase));
    if (switched) {
      on = t.phase === 'dual-write enable';
      lastSwitch = index;
    }
    if (t.phase !== 'verify' || on) kept.add(index);
  });
  const enabledElsewhere = !on && phase !== 'leveldb-only' && phase !== 'rolling-back';
  return timings.filter((t, index) => kept.has(index) || (enabledElsewhere && index > lastSwitch));
}

/** From this attempt's `dual-write enable` to the start of the first copy after it; undefined before a copy. */
function dualWriteSpan(timings: readonly PhaseTiming[]): number | undefined {
  const enable = timings.find((t) => t.phase === 'dual-write enable' && t.status === 'done');
  if (enable === undefined) return undefined;
  const from = Date.parse(enable.startedAt);
  const copy = timings.find((t) => t.phase === 'migrate' && Date.parse(t.startedAt) >= from);
  return copy === undefined ? undefined : Date.parse(copy.startedAt) - from;
}

function phaseLines(state: MigrationStateFile, attempt: readonly PhaseTiming[], analysis: { durationMs: number } | null): PhaseLine[] {
  const reached = PHASE_REACHED[state.phase] ?? 0;
  return RUNBOOK_PHASES.map(({ name, commands }, index) => {
    if (commands[0] === 'analyze') return { phase: name, status: analysis ? 'done' : 'pending', durationMs: analysis?.durationMs ?? 0 };
    const timings = attempt.filter((t: PhaseTiming) => commands.includes(t.phase));
    const done = timings.some((t) => t.status === 'done');
    const failedOnly = timings.length > 0 && !done;
    // Dual-write is a stretch of time, not a command: from its enable to the copy that ends it
    // (Phase 3), as the runbook's estimate counts it; its enable alone took milliseconds.
    const span = commands[0] === 'dual-write enable' ? dualWriteSpan(attempt) : undefined;
    const durationMs = span ?? timings.reduce((sum, t) => sum + t.durationMs, 0);
    // The committed phase is past this step: it was done, if not timed here.
    if (!done && index + 1 <= reached && index >= 1) return { phase: name, status: 'done', durationMs, timedElsewhere: true };
    return { phase: name, status: done ? 'done' : failedOnly ? 'failed' : 'pending', durationMs };
  });
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

const fmtMs = (ms: number): string =>
  ms >= 3_600_000
    ? `${(ms / 3_600_000).toFixed(1)} h`
    : ms >= 60_000
      ? `${(ms / 60_000).toFixed(1)} min`
      : ms >= 1000
        ? `${(ms / 1000).toFixed(1)} s`
        : `${ms} ms`;

async function sideFigures(
  store: StateStore,
  exclude: string[],
): Promise<{ side: StoreSide; perNetwork: Record<string, number>; chains: Set<number> } | null> {
  try {
    const perNetwork: Record<string, number> = {};
    // The chains with a record that is not excluded.
    const chains = new Set<number>();
    const skip = new Set(exclude);
    const side = await digestStore(
      (async function* () {
        for await (const entry of store.iterate({ onInvalid: () => undefined })) {
          perNetwork[String(entry.record.chainId)] = (perNetwork[String(entry.record.chainId)] ?? 0) + 1;
          if (!skip.has(entry.key)) chains.add(entry.record.chainId);
          yield entry;
        }
      })(),
      { exclude },
    );
    return { side, perNetwork, chains };
  } catch {
    return null;
  }
}

/**
 * The network files missing for chains that have records where JSON is read: every chain LevelDB
 * holds records of (json-primary: it is still written) or held at the cut-over (json-only),
 * `skipped` keys aside (exclusions, unmigratable keys, and those deleted through the store since:
 * a chain retired that way needs no file).
 */
function missingNetworkFiles(ctx: MigrationContext, state: MigrationStateFile, leveldbChains: ReadonlySet<number>, skipped: readonly string[]): string[] {
  const skip = new Set(skipped);
  const chains = new Set<number>(state.phase === 'json-only' ? [] : leveldbChains);
  if (state.phase === 'json-only') {
    for (const key of Object.keys(state.cutoverLeveldb?.records ?? {})) {
      const place = tryParseKey(key);
      if (place && !skip.has(key)) chains.add(place.chainId);
    }
  }
  return [...chains]
    .sort((a, b) => a - b)
    .map((chainId) => join(ctx.files.deployments, ctx.registry.fileName(chainId)))
    .filter((file) => !existsSync(file));
}

export interface ReportOptions {
  /** Findings in the deployments folder as the validator counts them (`deploystate validate`). */
  fileFindings?: { errors: number; warnings: number; info: number; files: number };
}

/**
 * The report's integrity line. A cut-over's verify reads while deploy scripts write: the keys they
 * wrote meanwhile are pending, held in its digests as each side had them, and re-checked equal under
 * the fence before the switch. So a clean cut-over preserved every record even where its digests differ.
 */
function integrityLine(cut: VerifyEvidence | null, digestsEqual: boolean): string {
  if (!cut) return digestsEqual ? '100% preserved (digests equal)' : 'digests differ';
  const digests = `LevelDB ${cut.leveldb.digest.slice(0, 16)}… (${cut.leveldb.count}) / JSON ${cut.json.digest.slice(0, 16)}… (${cut.json.count})`;
  if (digestsEqual) return `100% preserved (digests equal) at cut-over: ${digests}`;
  if (!cut.clean) return `digests differ at cut-over: ${digests}`;
  const pending = cut.pending === undefined ? 'the records' : `${cut.pending} record(s)`;
  return `100% preserved at cut-over: its verify was clean, and ${pending} written while it read were re-checked equal on both sides before the switch (its digests hold them as each side had them then: ${digests})`;
}

export async function buildReport(ctx: MigrationContext, options: ReportOptions = {}): Promise<MigrationReport> {
  const state = await readState(ctx.files);
  // Records of earlier commands, not the state: a damaged one is named in the report, never fatal.
  const chainRead = await readChainVerificationRecord(ctx.files.stateDir);
  const chain = usable(chainRead) ?? null;
  const analysisRead = await readAnalysisFigures(ctx.files.analysis);
  const analysis = usable(analysisRead) ?? null;
  const unreadableRecords = [chainRead, analysisRead].flatMap((r) => (r !== null && 'unreadable' in r ? [r.unreadable] : []));
  // One streamed pass: counts, per-phase durations for the medians, and the few failures.
  let total = 0;
  let ok = 0;
  let shadowMismatches = 0;
  let torn = 0;
  const durations: Record<string, number[]> = { 'leveldb-only': [], 'dual-write': [], 'json-primary': [], 'json-only': [] };
  const divergences: Array<{ seq: number; key: string; outcome: string; error: string | undefined }> = [];
  const fileRepairs: Array<{ seq: number; at: string; detail: string }> = [];
  // Each key's last acknowledged write: a key deleted through the store since no longer needs its file.
  const lastOk = new Map<string, 'put' | 'delete'>();
  for await (const e of ctx.journal.entries({ onEnd: (end) => (torn = end.torn) })) {
    if (e.type === 'outcome' && e.outcome === 'ok' && !e.probe) lastOk.set(e.key, e.op);
    if (e.type === 'shadow-mismatch') shadowMismatches++;
    // [coowned] Records put back into network files that other code had rewritten.
    if (e.type === 'event' && e.event === 'files-repaired') fileRepairs.push({ seq: e.seq, at: e.time, detail: e.detail ?? '' });
    if (e.type !== 'outcome' || e.probe) continue;
    total++;
    if (e.outcome === 'ok') {
      ok++;
      durations[e.phase]?.push(e.durationMs);
    }
    if (e.outcome === 'diverged' || e.outcome === 'compensated')
      divergences.push({ seq: e.seq, key: e.key, outcome: e.outcome, error: e.error?.message });
  }
  // Nothing journalled is nothing measured: no percentage of zero events.
  const errorRate = total === 0 ? null : (total - ok) / total;
  const availability = total === 0 ? null : ok / total;
  const latency: Record<string, number | null> = {};
  for (const phase of ['leveldb-only', 'dual-write', 'json-primary', 'json-only'] as const) latency[phase] = median(durations[phase] ?? []);
  const basePhase = latency['dual-write'] ? 'dual-write' : 'leveldb-only';
  const lastPhase = latency['json-only'] ? 'json-only' : 'json-primary';
  const base = latency[basePhase];
  const last = latency[lastPhase];
  const impact = base && last ? ((last - base) / base) * 100 : null;

  const exclude = [...state.exclusions, ...state.unmigratable];
  const leveldb = await ctx.leveldb().then(
    (s) => sideFigures(s, exclude),
    () => null,
  );
  const json = await ctx.json().then(
    (s) => sideFigures(s, exclude),
    () => null,
  );
  const reads = routeFor(state).reads;
  const primary = reads === 'json' ? json : leveldb;
  const primaryStore = reads === 'json' ? await ctx.json().catch(() => null) : await ctx.leveldb().catch(() => null);
  const integrity = primaryStore ? await primaryStore.checkIntegrity().catch(() => null) : null;

  const cut = state.cutoverEvidence ?? null;
  // The JSON files deploy scripts read cannot all be read: whatever the evidence says, not a success.
  const unreadable = reads === 'json' ? (integrity ? unreadableFiles(integrity.findings) : null) : [];
  // A chain with records LevelDB holds (json-primary) or held at the cut-over (json-only) whose
  // network file is gone: deploy scripts read none of its records, and would deploy them again.
  const deleted = new Set([...lastOk].filter(([, op]) => op === 'delete').map(([key]) => key));
  const missingFiles = reads === 'json' ? missingNetworkFiles(ctx, state, leveldb?.chains ?? new Set(), [...exclude, ...deleted]) : [];
  const readSideDamaged = reads === 'json' && (json === null || unreadable === null || unreadable.length > 0 || missingFiles.length > 0);
  const status: MigrationReport['status'] = state.diverged || readSideDamaged
    ? 'FAILED'
    : state.phase === 'json-only' && (cut?.clean || (cut === null && state.cutoverLeveldb))
      ? 'SUCCESS'
      : state.phase === 'leveldb-only' && state.rollback?.completedAt
        ? 'ROLLED BACK'
        : 'IN PROGRESS';
  const attempt = thisAttempt(withoutLevelDbOnlyVerifies(state.timings, state.phase));
  const phases = phaseLines(state, attempt.timings, analysis);
  const starts = attempt.timings.map((t) => Date.parse(t.startedAt));
  const ends = attempt.timings.map((t) => Date.parse(t.endedAt));
  const totalMs = starts.length ? Math.max(...ends) - Math.min(...starts) : 0;
  // After a cut-over: every record LevelDB held at the switch (recorded then, under the fence) is in
  // JSON, as the cut-over re-checked. The counts of its verify, read while scripts wrote, are not
  // that (a JSON count above LevelDB's read as more migrated than there were).
  const atSwitch = state.phase === 'json-only' ? state.cutoverLeveldb : null;
  const migrated = atSwitch
    ? `${atSwitch.count}/${atSwitch.count}`
    : cut
      ? `${cut.json.count}/${cut.leveldb.count}`
      : `${json?.side.count ?? 0}/${leveldb?.side.count ?? 0}`;
  const networks = Object.entries(primary?.perNetwork ?? {}).map(([chainId, count]) => ({
    chainId: Number(chainId),
    network: ctx.registry.get(Number(chainId)).name,
    count,
  }));
  const digestsEqual = cut
    ? cut.leveldb.digest === cut.json.digest
    : leveldb !== null && json !== null && leveldb.side.digest === json.side.digest;
  const severity = integrity ? countBySeverity(integrity.findings) : null;

  const json_: Record<string, unknown> = {
    generatedAt: isoNow(ctx),
    status,
    // Why the status is FAILED, in words (empty otherwise).
    failedBecause: [
      ...(state.diverged ? ['a dual write diverged (write the key again through the store, then run verify; promote and cutover stay blocked until it is clean)'] : []),
      ...(missingFiles.length > 0
        ? [`a network file deploy scripts read is missing, so they would find none of its chain's records: ${missingFiles.join(', ')}`]
        : []),
      ...(readSideDamaged && missingFiles.length === 0
        ? [`a network file deploy scripts read cannot be read: ${(unreadable ?? []).map((f) => f.file ?? f.message).join(', ') || 'the JSON store does not open'}`]
        : []),
    ],
    phase: state.phase,
    totalDurationMs: totalMs,
    earlierAttempts: attempt.earlier,
    dataIntegrity: {
      digestsEqual,
      // A clean cut-over gate: equal on both sides at the switch, also where writes made during its
      // verify (pending) left the digests it took apart.
      preservedAtCutover: cut ? cut.clean : null,
      atCutover: cut ? { leveldb: cut.leveldb, json: cut.json } : null,
      now: { leveldb: leveldb?.side ?? null, json: json?.side ?? null },
      ...(readSideDamaged && { unreadable: [...(unreadable?.map((f) => f.file ?? f.message) ?? []), ...missingFiles] }),
    },
    phases,
    contractsMigrated: migrated,
    networks,
    findings: integrity
      ? { total: integrity.findings.length, bySeverity: severity, codes: [...new Set(integrity.findings.map((f) => f.code))].sort() }
      : null,
    validation: options.fileFindings ?? null,
    exclusions: state.exclusions,
    unmigratable: state.unmigratable,
    acknowledged: state.acknowledged,
    divergences,
    fileRepairs,
    shadowMismatches,
    operations: { total: total, ok, errorRate, availability, tornJournalLines: torn },
    latencyMedianMs: latency,
    performanceImpactPercent: impact,
    timings: state.timings,
    // The last check of the records against the chains (endpoints redacted), when one ran.
    chainVerification: chain
      ? { at: chain.at, source: chain.source ?? null, ok: chain.ok, counts: chain.counts, chains: chain.chains }
      : null,
    // Records of earlier commands that are there but cannot be read (run the command again).
    unreadableRecords,
  };

  const pct = (x: number): string => `${(x * 100).toFixed(3).replace(/\.?0+$/, '')}%`;
  const NOTHING_MEASURED = 'n/a (nothing measured)';
  const md: string[] = [
    '# Migration Completion Report',
    '',
    `Generated ${json_.generatedAt as string} from ${ctx.files.stateDir}`,
    '',
    '## Executive Summary',
    `- Migration Status: ${status}`,
    `- Current phase: ${state.phase}`,
    `- Total Duration: ${fmtMs(totalMs)}${attempt.earlier > 0 ? ` (this attempt, from its dual-write enable; ${attempt.earlier} earlier attempt(s) ended in a rollback or disable and are not counted)` : ''}`,
    `- Data Integrity: ${integrityLine(cut, digestsEqual)}`,
    `- System Availability: ${availability === null ? `${NOTHING_MEASURED}: no journalled writes` : `${pct(availability)} of ${total} journalled write(s)`}`,
    '',
    '## Phase Completion Summary',
    ...phases.map((p) => `- ${p.phase}: ${p.status} - ${p.timedElsewhere ? 'not timed in this clone' : fmtMs(p.durationMs)}`),
    '',
    '## Technical Metrics',
    `- Contracts Migrated: ${migrated}`,
    `- Networks Validated: ${networks.length}/${networks.length}`,
    ...networks.map((n) => `  - ${n.network} (${n.chainId}): ${n.count} record(s)`),
    `- Performance Impact: ${impact === null ? 'n/a (not enough journalled writes)' : `${impact >= 0 ? '+' : ''}${impact.toFixed(1)}% median write latency, ${lastPhase} against ${basePhase}`} (medians: ${Object.entries(
      latency,
    )
      .map(([k, v]) => `${k} ${v === null ? 'n/a' : `${v} ms`}`)
      .join(', ')})`,
    `- Error Rate: ${errorRate === null ? `${NOTHING_MEASURED}: no journalled writes` : `${pct(errorRate)} (${total - ok} of ${total})`}`,
    `- Digests now: LevelDB ${leveldb ? `${leveldb.side.digest} (${leveldb.side.count})` : 'unavailable'}; JSON ${json ? `${json.side.digest} (${json.side.count})` : 'unavailable'}`,
    '',
    '## Issues Encountered',
    ...(options.fileFindings
      ? [
          `- Findings in the deployments files (as \`deploystate validate\` counts them): ${options.fileFindings.errors} error, ${options.fileFindings.warnings} warning, ${options.fileFindings.info} info in ${options.fileFindings.files} file(s)`,
        ]
      : []),
    ...(readSideDamaged
      ? [
          `- The JSON side deploy scripts read cannot be read whole: ${unreadable?.length ? unreadable.map((f) => f.file ?? f.message).join(', ') : 'it could not be opened'}`,
        ]
      : []),
    `- Findings in the records (${reads}, as \`deploystate check\` counts them): ${integrity ? `${integrity.findings.length} (${severity?.error ?? 0} error, ${severity?.warning ?? 0} warning, ${severity?.info ?? 0} info)` : 'unavailable'}`,
    `- Acknowledged at cut-over: ${state.acknowledged.length ? state.acknowledged.join(', ') : 'none'}`,
    `- Exclusions: ${state.exclusions.length ? state.exclusions.join(', ') : 'none'}`,
    `- Unmigratable keys: ${state.unmigratable.length ? state.unmigratable.join(', ') : 'none'}`,
    `- Divergences: ${divergences.length ? divergences.map((d) => `${d.key} (${d.outcome}, seq ${d.seq})`).join(', ') : 'none'}`,
    `- Shadow-read mismatches: ${shadowMismatches}`,
    `- Network files repaired (records another program's rewrite dropped): ${fileRepairs.length ? fileRepairs.map((r) => `${r.at}: ${r.detail}`).join('; ') : 'none'}`,
    ...(torn ? [`- Torn journal lines skipped: ${torn}`] : []),
    ...unreadableRecords.map((file) => `- Unreadable record of an earlier command (read as not run; run it again): ${file}`),
    `- Chain verification: ${chain ? `${chain.ok ? 'no errors' : 'ERRORS'} at ${chain.at} (${chain.source ?? 'records'}): ${chain.counts.ok} ok, ${chain.counts.warn} warning, ${chain.counts.error} error, ${chain.counts.notChecked} not checked` : 'not run'}`,
    '',
    '## Recommendations',
    ...(status === 'SUCCESS'
      ? [
          '- Keep the LevelDB folder and the backups until the post-migration monitoring period ends.',
          '- Run `deploystate rollback --ready` (npm script `verify:rollback-ready`) before removing them.',
        ]
      : status === 'ROLLED BACK'
        ? ['- LevelDB holds every write; investigate the cause before enabling dual-write again.']
        : readSideDamaged
          ? ['- `deploystate validate` names each file that cannot be read; `deploystate restore <network>` brings back the last version written.']
          : ['- Continue with the next command shown by `status`.']),
    '',
  ];
  const markdown = md.join('\n');
  const stamp = isoNow(ctx).replace(/[:.]/g, '-');
  await mkdir(ctx.files.reports, { recursive: true });
  const files = {
    markdown: join(ctx.files.reports, `migration-report-${stamp}.md`),
    json: join(ctx.files.reports, `migration-report-${stamp}.json`),
  };
  await writeFileDurable(files.markdown, markdown);
  await writeFileDurable(files.json, `${JSON.stringify(json_, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
  return { status, markdown, json: json_, files };
}
