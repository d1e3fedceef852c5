// Decoding one value read from LevelDB into the record its key names, or a finding saying why it is not.
import {
  assertDeploymentRecord,
  duplicateKeyError,
  finding,
  invalidValueFinding,
  parseLosslessDocument,
  tryParseKey,
  type DeploymentRecord,
  type InvalidEntry,
} from '@deploystate/core';

/** Decodes one stored value, or says with a finding why it is not the record its key names. */
export function decodeEntry(key: string, raw: string): { record: DeploymentRecord } | InvalidEntry {
  let value: unknown;
  try {
    const parsed = parseLosslessDocument(raw, { source: key, sourceIsKey: true });
    // A name given twice: JSON.parse kept the last value without a word; the copy would drop the other.
    if (parsed.duplicate !== undefined) {
      const error = duplicateKeyError(key, parsed.duplicate, {
        outcome: 'a reader keeps only the last value, so it is not read or copied as it stands',
        hint: 'put the record again through the store with the value meant (or exclude its key from the migration)',
      });
      return { key, raw, finding: invalidValueFinding(key, error, 'DUPLICATE_KEY') };
    }
    value = parsed.value;
  } catch (error) {
    return { key, raw, finding: invalidValueFinding(key, error, 'UNDECODABLE_VALUE') };
  }
  let record: DeploymentRecord;
  try {
    record = assertDeploymentRecord(value, key);
  } catch (error) {
    return { key, raw, finding: invalidValueFinding(key, error, 'INVALID_RECORD') };
  }
  const parsed = tryParseKey(key);
  if (!parsed) {
    return { key, raw, finding: invalidValueFinding(key, new Error('the key is not of the form <chainId>-<contractName>'), 'INVALID_KEY') };
  }
  if (parsed.chainId !== record.chainId || parsed.contractName !== record.contractName) {
    const field = parsed.chainId !== record.chainId ? 'chainId' : 'contractName';
    const says = `${record.chainId}-${record.contractName}`;
    return {
      key,
      raw,
      finding: finding('KEY_MISMATCH', `stored under ${JSON.stringify(key)} but the record says ${JSON.stringify(says)}`, {
        key,
        chainId: record.chainId,
        contractName: record.contractName,
        field,
      }),
    };
  }
  return { record };
}
