// The optional comparison of the files' records with another store (LevelDB in practice), using
// core's one-pass comparison, turned into findings that point into the files.
import {
  compareKeys,
  compareStores,
  finding,
  type Finding,
  type NetworkRegistry,
  type StateStore,
  type StoreComparison,
  type StoreEntry,
} from '@deploystate/core';
import type { Locator } from './locate.js';
import type { LocatedEntry } from './state-file.js';

export interface ComparisonContext {
  registry: NetworkRegistry;
  /** A file name inside the deployments folder as shown in findings. */
  show: (name: string) => string;
  locators: Map<string, Locator>;
}

export async function compareWithStore(
  located: LocatedEntry[],
  store: StateStore,
  context: ComparisonContext,
): Promise<{ comparison: StoreComparison; findings: Finding[] }> {
  // One record per key, in LevelDB's key order; a key held twice is already a finding.
  const byKey = new Map<string, LocatedEntry>();
  for (const entry of located) if (!byKey.has(entry.key)) byKey.set(entry.key, entry);
  const sorted = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
  const left: StoreEntry[] = sorted.map(({ key, record }) => ({ key, record }));

  const findings: Finding[] = [];
  await store.open();
  const right = store.iterate({
    // A value the store cannot decode is a finding about the store, not a reason to stop.
    onInvalid: (invalid) => findings.push({ ...invalid.finding, message: `${store.backend}: ${invalid.finding.message}` }),
  });
  const comparison = await compareStores(left, right);

  const at = (file: string, pointer: string): { file: string; pointer: string; line: number; column: number } => {
    const position = context.locators.get(file)?.(pointer) ?? { line: 1, column: 1 };
    return { file, pointer, line: position.line, column: position.column };
  };
  for (const entry of comparison.onlyLeft) {
    const where = byKey.get(entry.key) as LocatedEntry;
    findings.push(
      finding('MISSING_RECORD', `${entry.key} is in the file but not in the ${store.backend} store`, {
        key: entry.key,
        chainId: entry.record.chainId,
        contractName: entry.record.contractName,
        ...at(where.file, where.pointer),
      }),
    );
  }
  for (const entry of comparison.onlyRight) {
    const file = context.show(context.registry.fileName(entry.record.chainId));
    findings.push(
      finding('MISSING_RECORD', `${entry.key} is in the ${store.backend} store but not in ${file}`, {
        key: entry.key,
        chainId: entry.record.chainId,
        contractName: entry.record.contractName,
        ...at(file, '/records'),
      }),
    );
  }
  for (const difference of comparison.differing) {
    const where = byKey.get(difference.key) as LocatedEntry;
    const fields = difference.fields.map((f) => f.field);
    const first = fields[0];
    const pointer = first === undefined ? where.pointer : `${where.pointer}/${first.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    findings.push(
      finding(
        'RECORD_DIFFERS',
        `${difference.key} differs from the ${store.backend} store in ${fields.join(', ') || 'its canonical form'}`,
        {
          key: difference.key,
          contractName: where.record.contractName,
          chainId: where.record.chainId,
          ...(first !== undefined && { field: first }),
          ...at(where.file, pointer),
        },
      ),
    );
  }
  return { comparison, findings };
}
