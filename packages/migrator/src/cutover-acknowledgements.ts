// The cut-over accepts pre-existing findings by code or by key (`cutover --acknowledge`). Validate
// honours per-record acknowledgements only: each record as it was, by digest. So the cut-over's are
// given as the per-record acknowledgements they stand for, of the records as the cut-over recorded
// them: a record changed since, or a new one, raises its findings again.
import { FindingCodes, tryParseKey, type Acknowledgement, type FindingCode, type NetworkRegistry } from '@deploystate/core';
import type { MigrationStateFile } from './types.js';

/** The cut-over's acknowledgements by code or key, per record (none before a cut-over). */
export function cutoverAcknowledgements(
  state: Pick<MigrationStateFile, 'acknowledged' | 'cutoverLeveldb'>,
  registry: NetworkRegistry,
): Acknowledgement[] {
  const atCutover = state.cutoverLeveldb?.records;
  if (!atCutover) return [];
  const allCodes = Object.keys(FindingCodes) as FindingCode[];
  const codes = state.acknowledged.filter((a): a is FindingCode => a in FindingCodes);
  const keys = new Set(state.acknowledged.filter((a) => tryParseKey(a) !== null));
  const out: Acknowledgement[] = [];
  for (const [key, digest] of Object.entries(atCutover)) {
    const parsed = tryParseKey(key);
    if (!parsed) continue;
    const file = registry.fileName(parsed.chainId);
    for (const code of keys.has(key) ? allCodes : codes) out.push({ file, key, code, digest });
  }
  return out;
}
