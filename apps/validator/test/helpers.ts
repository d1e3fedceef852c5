// Fixture folders for the tests: real files in temp folders, written the way the JSON backend
// writes them (2-space indent, trailing newline), plus helpers to find where a text sits.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NetworkRegistry, sampleRecord, stringifyLossless, type DeploymentRecord } from '@deploystate/core';

export const registry = new NetworkRegistry();

/** A clean record for a chain (lower-case addresses, every hash present). */
export function cleanRecord(chainId: number, contractName: string, index = 0): DeploymentRecord {
  const record = sampleRecord(chainId, contractName, registry.get(chainId).name, index);
  // The sample's big-integer argument is an info finding; keep the clean fixture quiet.
  record.deploymentArgs = [record.address, 18];
  return record;
}

export function stateDocument(chainId: number, records: DeploymentRecord[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const section: Record<string, unknown> = {};
  for (const record of records) section[record.contractName] = record;
  return { schemaVersion: 1, network: registry.get(chainId).name, chainId, ...extra, records: section };
}

export function render(value: unknown): string {
  return `${stringifyLossless(value, 2)}\n`;
}

export async function put(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

/** A valid folder: two state files, a foreign config sharing a chainId, a README, a hidden history folder. */
export async function writeValidFolder(dir: string): Promise<void> {
  await put(
    dir,
    'bscmainnet.json',
    render(stateDocument(56, [cleanRecord(56, 'LookCoin', 0), cleanRecord(56, 'contracts/xchain/Router.sol:Router', 1)])),
  );
  await put(dir, 'basesepolia.json', render(stateDocument(84532, [cleanRecord(84532, 'LookCoin', 2)])));
  await put(dir, 'bsc-config.json', render({ chainId: 56, gasPrice: 3, endpoints: ['https://example.invalid'] }));
  await put(dir, 'README.md', '# deployments\n');
  await put(dir, '.history/bscmainnet.2023.json', '{"old": true}\n');
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
export function positionOfText(text: string, needle: string, from = 0): { line: number; column: number } {
  const offset = text.indexOf(needle, from);
  if (offset < 0) throw new Error(`fixture does not contain ${needle}`);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
