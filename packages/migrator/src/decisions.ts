// The decisions analysis proposes, never makes: exclude the records on development chains that
// cannot be valid (junk a local node left), and acknowledge the remaining findings record by
// record. An invalid record on a real chain is data to fix, so it is never proposed for either.
import { findAcknowledgement, isDevChain, type Acknowledgement, type Finding, type NetworkRegistry } from '@deploystate/core';

export interface ProposedAcknowledgement {
  key: string;
  code: Finding['code'];
  /** The state file the record goes to. */
  file: string;
  command: string;
}

export interface DecisionProposals {
  /** Dev-chain records that cannot be valid, with the command that records their exclusion. */
  exclude: { keys: string[]; command: string } | null;
  /** Findings to accept as they are, one command each. */
  acknowledge: ProposedAcknowledgement[];
  /** Errors on real chains: fix the data (no decision will make these go away). */
  toFix: Finding[];
  /** Decisions already recorded that cover findings of this analysis. */
  recorded: { excluded: string[]; acknowledged: Acknowledgement[] };
}

/** A word as a POSIX shell takes it: bare when it is plain, else single-quoted. */
export const shellWord = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * What the operator may decide about the findings. `records` gives each key's record (for the
 * digest an acknowledgement matches); `excluded` and `acknowledged` are the decisions recorded so far.
 */
export function proposeDecisions(
  findings: readonly Finding[],
  options: {
    registry: NetworkRegistry;
    excluded: readonly string[];
    acknowledged: readonly Acknowledgement[];
    recordOf: (key: string) => unknown;
  },
): DecisionProposals {
  const excluded = new Set(options.excluded);
  const keyed = findings.filter((f): f is Finding & { key: string } => f.key !== undefined && f.severity !== 'info');
  const junk = new Set(keyed.filter((f) => f.severity === 'error' && f.chainId !== undefined && isDevChain(f.chainId)).map((f) => f.key));
  const proposedExclusions = [...junk].filter((key) => !excluded.has(key));
  const recordedAcks: Acknowledgement[] = [];
  const acknowledge: ProposedAcknowledgement[] = [];
  const toFix: Finding[] = [];
  const seen = new Set<string>();
  for (const f of keyed) {
    if (excluded.has(f.key) || junk.has(f.key)) continue;
    if (f.severity === 'error') {
      toFix.push(f);
      continue;
    }
    const id = `${f.code} ${f.key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const file = options.registry.fileName(f.chainId ?? 0);
    const ack = findAcknowledgement(options.acknowledged, { ...f, file }, options.recordOf(f.key));
    if (ack) recordedAcks.push(ack);
    else acknowledge.push({ key: f.key, code: f.code, file, command: `deploystate acknowledge ${shellWord(f.key)} ${f.code}` });
  }
  return {
    exclude:
      proposedExclusions.length > 0 ? { keys: proposedExclusions, command: `deploystate exclude ${proposedExclusions.map(shellWord).join(' ')}` } : null,
    acknowledge,
    toFix,
    recorded: { excluded: [...excluded].filter((k) => keyed.some((f) => f.key === k)), acknowledged: recordedAcks },
  };
}
