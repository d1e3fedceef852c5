// The validator on folders the JSON backend wrote: five networks (production shape) and 100 files
// holding 10k records in all (issue 7: within a second).
import { generateRecords, productionSample, type DeploymentRecord } from '@deploystate/core';
import { join } from 'node:path';
import { LIMITS, makeGate } from '../gates.js';
import { makeTempDir, measure, removeTempDir } from '../harness.js';
import { dataset, loadBackend, loadValidator, type BackendFactory } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
import { emptyOutcome, scaled, type SuiteContext, type SuiteOutcome } from './context.js';

/** 100 chains: the five production ones and 95 unregistered ones (files `chain-<id>.json`). */
export function hundredChains(): number[] {
  const chains = [56, 97, 84532, 11155420, 23295];
  for (let id = 900_001; chains.length < 100; id++) chains.push(id);
  return chains;
}

async function writeFolder(factory: BackendFactory, records: readonly DeploymentRecord[]): Promise<{ root: string; dir: string }> {
  const root = await makeTempDir('validator');
  const store = factory.create(root, false);
  await store.open();
  await store.putMany(records);
  await store.close();
  return { root, dir: join(root, 'deployments') };
}

function isClean(result: unknown): boolean | undefined {
  const ok = (result as { ok?: unknown } | null)?.ok;
  return typeof ok === 'boolean' ? ok : undefined;
}

export async function validatorSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const validate = await loadValidator();
  if (!validate.ok) return emptyOutcome(`skipped: ${validate.reason}`);
  const json = await loadBackend('json');
  if (!json.ok) return emptyOutcome(`skipped: ${json.reason} (needed to write the folders)`);

  const manyRecords = context.quick ? 1000 : 10_000;
  const project = context.project && dataset(context.project.size);
  const cases: Array<{ label: string; records: DeploymentRecord[]; files: number }> = project
    ? [{ label: 'your store', records: project, files: new Set(project.map((r) => r.chainId)).size }]
    : [
        { label: '5 networks', records: productionSample().records, files: 5 },
        { label: '100 files', records: generateRecords(manyRecords, hundredChains()), files: 100 },
      ];
  const measurements: Measurement[] = [];
  const gates: GateResult[] = [];
  for (const c of cases) {
    const folder = await writeFolder(json.value, c.records);
    try {
      const clean = isClean(await validate.value(folder.dir));
      context.log(`validator ${c.label}, ${c.records.length} records`);
      const [m] = await measure(
        [{ name: 'validator', run: () => validate.value(folder.dir) }],
        {
          suite: 'validator',
          operation: c.label,
          size: c.records.length,
          itemsPerRun: c.files,
          note: `${c.files} files written by JsonFileStore; result ok=${clean ?? 'unknown'}`,
        },
        scaled(context, Math.max(1, c.records.length / 100), 3),
      );
      if (!m) continue;
      measurements.push(m);
      if (c.files === 100) {
        gates.push(
          makeGate(
            LIMITS.validator,
            'validator',
            c.records.length,
            m.latencyMs.p50,
            `p50 of validateDeployments over ${c.files} files`,
            c.records.length >= 10_000,
          ),
        );
      }
    } finally {
      await removeTempDir(folder.root);
    }
  }
  return { measurements, memory: [], gates };
}
