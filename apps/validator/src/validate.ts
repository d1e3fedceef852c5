// validateDeployments: walks a deployments folder, decides which files are state files, judges
// them, checks across files, optionally compares with a store, and sums it up.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  ErrorCodes,
  NetworkRegistry,
  StateError,
  countBySeverity,
  findAcknowledgement,
  finding,
  fsErrorCode,
  isProcessAlive,
  type Acknowledgement,
  type Finding,
} from '@deploystate/core';
import { STATE_DIR } from '@deploystate/backend-json';
import { defaultJournalFor, journalledPutKeys } from './journal-keys.js';
import { judgeStateFile, type LocatedEntry } from './state-file.js';
import { compareWithStore } from './store-comparison.js';
import type { FileReport, SkippedFile, ValidateOptions, ValidationResult } from './types.js';
import type { Locator } from './locate.js';

/** The JSON backend's working folder (temp files, locks, backups), named by the backend itself. */
export { STATE_DIR };

// The JSON backend names temp files `<target>.<pid>.<12 hex>.tmp` in `.deploystate/tmp/`.
const BACKEND_TEMP = /\.(\d+)\.[0-9a-f]{12}\.tmp$/;
// Editors and other writers leave `x.json.tmp`, `x.tmp-123`, `x.json.tmp.1`.
const STRAY_TEMP = /\.tmp(\b|[-.~_0-9]|$)/i;

const READ_CONCURRENCY = 16;

interface Candidate {
  name: string;
  nameChainId?: number;
  /** Text already read while deciding (files named by schemaVersion only). */
  text?: string;
}

interface Walk {
  candidates: Candidate[];
  temps: Array<{ name: string; pid?: number }>;
  /** Registry-named state file paths holding a link, a folder or another non-file. */
  notFiles: Array<{ name: string; what: string }>;
  skipped: SkippedFile[];
  /** Chains of registry-named state files on disk (cross-file checks in `files` mode). */
  namedOnDisk: Map<number, string>;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = fsErrorCode(error);
    throw new StateError(
      code === ErrorCodes.WRITE_FAILED ? ErrorCodes.CORRUPTED : code,
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { file: path, cause: error },
    );
  }
}

/** Throws StateError STORE_NOT_FOUND naming `dir` unless it is an existing folder. */
export async function assertFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `deployments folder ${dir} does not exist`, {
      file: dir,
      hint: 'pass the folder that holds <network>.json (default ./deployments), or create a sample with `deploystate migrate --demo`',
      cause: error,
    });
  }
  if (!info.isDirectory()) throw new StateError(ErrorCodes.STORE_NOT_FOUND, `${dir} is not a folder`, { file: dir });
}

/** Sorts names the same way on every machine (code units, not locale). */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function walk(dir: string, registry: NetworkRegistry, only: Set<string> | undefined, show: (name: string) => string): Promise<Walk> {
  const result: Walk = { candidates: [], temps: [], skipped: [], namedOnDisk: new Map(), notFiles: [] };
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  for (const entry of entries) {
    const chain = entry.isFile() || entry.isSymbolicLink() ? registry.chainIdOfFile(entry.name) : undefined;
    if (chain !== undefined) result.namedOnDisk.set(chain, entry.name);
  }

  const tmpDir = join(dir, STATE_DIR, 'tmp');
  const tmpNames = await readdir(tmpDir).catch(() => [] as string[]);
  for (const name of tmpNames.sort(byName)) {
    const rel = `${STATE_DIR}/tmp/${name}`;
    if (only && !only.has(rel)) continue;
    const match = BACKEND_TEMP.exec(name);
    const pid = match ? Number(match[1]) : undefined;
    // A temp file whose writer still runs is a write in progress, not a leftover.
    if (pid !== undefined && pid !== process.pid && isProcessAlive(pid)) {
      result.skipped.push({ file: show(rel), reason: `temp file of a write in progress (process ${pid})` });
      continue;
    }
    result.temps.push({ name: rel, ...(pid !== undefined && { pid }) });
  }

  const names = only ? [...only].filter((n) => !n.startsWith(`${STATE_DIR}/tmp/`)).sort(byName) : entries.map((e) => e.name);
  const kinds = new Map(entries.map((e) => [e.name, e]));
  for (const name of names) {
    if (name.includes('/')) {
      const top = name.slice(0, name.indexOf('/'));
      result.skipped.push({
        file: show(name),
        reason: top.startsWith('.') ? 'in a hidden folder' : 'in a sub-folder (state files live at the top level)',
      });
      continue;
    }
    const entry = kinds.get(name);
    // The JSON backend never reads nor replaces a link or folder under a state file's name: say so.
    if (entry && !entry.isFile() && registry.chainIdOfFile(name) !== undefined) {
      result.notFiles.push({ name, what: entry.isSymbolicLink() ? 'a symbolic link' : entry.isDirectory() ? 'a folder' : 'not a regular file' });
      continue;
    }
    let isDir = entry?.isDirectory() ?? false;
    let isFile = entry?.isFile() ?? false;
    if (!entry || entry.isSymbolicLink()) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (!info) {
        result.skipped.push({ file: show(name), reason: 'not found' });
        continue;
      }
      isDir = info.isDirectory();
      isFile = info.isFile();
    }
    if (isDir) {
      const reason =
        name === STATE_DIR
          ? "the JSON backend's working folder (locks, backups, temp files)"
          : name.startsWith('.')
            ? 'hidden folder'
            : 'folder (state files live at the top level)';
      result.skipped.push({ file: show(name), reason });
      continue;
    }
    if (!isFile) {
      result.skipped.push({ file: show(name), reason: 'not a regular file' });
      continue;
    }
    if (STRAY_TEMP.test(name)) {
      result.temps.push({ name });
      continue;
    }
    if (name.startsWith('.')) {
      result.skipped.push({ file: show(name), reason: 'hidden file' });
      continue;
    }
    if (!name.endsWith('.json')) {
      result.skipped.push({ file: show(name), reason: 'not a .json file' });
      continue;
    }
    const nameChainId = registry.chainIdOfFile(name);
    if (nameChainId !== undefined) {
      result.candidates.push({ name, nameChainId });
      continue;
    }
    result.candidates.push({ name });
  }
  return result;
}

/** Whether a file that is not a registry name declares itself a state file (top-level schemaVersion). */
function declaresSchemaVersion(text: string): boolean | 'not-json' {
  // Most foreign files never mention it: no parse needed to skip them.
  if (!text.includes('"schemaVersion"')) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.hasOwn(parsed, 'schemaVersion');
  } catch {
    return 'not-json';
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `files` option entries as names relative to `dir` (POSIX separators); outside ones reported. */
function normalizeOnly(dir: string, files: readonly string[], skipped: SkippedFile[]): Set<string> {
  const root = resolve(dir);
  const out = new Set<string>();
  for (const file of files) {
    const rel = relative(root, resolve(root, file));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      skipped.push({ file, reason: `outside ${dir}` });
      continue;
    }
    out.add(rel.split(sep).join('/'));
  }
  return out;
}

/**
 * Validates a deployments folder. Throws StateError STORE_NOT_FOUND when `dir` is missing or not a
 * folder, and PERMISSION_DENIED or CORRUPTED when a file cannot be read at all; every problem
 * inside a file is a finding.
 */
export async function validateDeployments(dir: string, options: ValidateOptions = {}): Promise<ValidationResult> {
  const registry = options.registry ?? new NetworkRegistry();
  await assertFolder(dir);
  const show = (name: string): string => join(dir, name);
  const outside: SkippedFile[] = [];
  const only = options.files ? normalizeOnly(dir, options.files, outside) : undefined;
  const walked = await walk(dir, registry, only, show);
  const journal = options.journal === undefined ? defaultJournalFor(dir) : options.journal;
  const journalled = journal === false ? new Set<string>() : await journalledPutKeys(journal);
  const skipped = [...outside, ...walked.skipped];

  const judged = await mapLimit(walked.candidates, READ_CONCURRENCY, async (candidate) => {
    const file = show(candidate.name);
    const text = candidate.text ?? (await readText(file));
    if (candidate.nameChainId === undefined) {
      const declares = declaresSchemaVersion(text);
      if (declares !== true) {
        const reason =
          text.trim() === ''
            ? 'empty, and not a state file name'
            : declares === 'not-json'
              ? 'not a state file name and not valid JSON'
              : 'not a state file name and no schemaVersion';
        return { skipped: { file, reason } };
      }
    }
    return {
      verdict: judgeStateFile({
        file,
        name: candidate.name,
        text,
        registry,
        journalled,
        ...(candidate.nameChainId !== undefined && { nameChainId: candidate.nameChainId }),
      }),
      name: candidate.name,
    };
  });

  const reports: FileReport[] = [];
  const locators = new Map<string, Locator>();
  const entries: LocatedEntry[] = [];
  const holders = new Map<number, string[]>();
  const nameOf = new Map<string, string>();
  for (const item of judged) {
    if ('skipped' in item) {
      skipped.push(item.skipped as SkippedFile);
      continue;
    }
    const { verdict, name } = item;
    const file = show(name);
    locators.set(file, verdict.locator);
    nameOf.set(file, name);
    entries.push(...verdict.entries);
    reports.push({
      file,
      ...(verdict.chainId !== undefined && { chainId: verdict.chainId }),
      records: verdict.records,
      kind: verdict.kind,
      findings: verdict.findings,
    });
    if (verdict.chainId !== undefined) holders.set(verdict.chainId, [...(holders.get(verdict.chainId) ?? []), name]);
  }

  // Two state files for one chain. The registry's file for the chain owns it; every other holder
  // is the duplicate (all of them when the owner is absent). Registry-named files that were not
  // judged this time (pre-commit mode) still count as holders.
  const judgedNames = new Set(reports.map((r) => r.file));
  for (const [chain, name] of walked.namedOnDisk) {
    if (!judgedNames.has(show(name))) holders.set(chain, [...(holders.get(chain) ?? []), name]);
  }
  for (const report of reports) {
    if (report.chainId === undefined) continue;
    const held = holders.get(report.chainId) ?? [];
    if (held.length < 2) continue;
    const name = nameOf.get(report.file) as string;
    const owner = registry.fileName(report.chainId);
    if (name === owner) continue;
    const others = held.filter((n) => n !== name).sort(byName);
    const locator = locators.get(report.file);
    const pointer = '/chainId';
    const { line, column } = locator ? locator(pointer) : { line: 1, column: 1 };
    report.findings.push(
      finding(
        'DUPLICATE_CHAIN_FILE',
        `chain ${report.chainId} is also held by ${others.map(show).join(', ')}${others.includes(owner) ? ` (the registry's file for it)` : ''}`,
        { file: report.file, chainId: report.chainId, pointer, line, column },
      ),
    );
  }

  for (const { name, what } of walked.notFiles) {
    const file = show(name);
    const message = `${file} is ${what} where a state file belongs; the JSON backend neither reads nor replaces it (NOT_A_FILE)`;
    reports.push({ file, records: 0, kind: 'state', findings: [finding('NOT_A_FILE', message, { file, pointer: '', line: 1, column: 1 })] });
  }

  for (const temp of walked.temps) {
    const file = show(temp.name);
    const message =
      temp.pid !== undefined
        ? `temp file left by an interrupted write (process ${temp.pid} is gone); safe to delete`
        : 'looks like a temp file left by an interrupted write; delete it once no write is running';
    reports.push({
      file,
      records: 0,
      kind: 'temp',
      findings: [finding('LEFTOVER_TEMP_FILE', message, { file, pointer: '', line: 1, column: 1 })],
    });
  }

  const findings: Finding[] = reports.flatMap((r) => r.findings);
  let comparison: ValidationResult['comparison'];
  if (options.compareWith) {
    const compared = await compareWithStore(entries, options.compareWith, { registry, show, locators });
    comparison = compared.comparison;
    for (const f of compared.findings) {
      findings.push(f);
      reports.find((r) => r.file === f.file)?.findings.push(f);
    }
  }

  const acknowledged = markAcknowledged(findings, entries, options.acknowledgements ?? []);
  // An acknowledged finding is shown, as acknowledged, and counts against nothing.
  const counts = countBySeverity(findings.filter((f) => f.acknowledged !== true));
  const summary = { errors: counts.error, warnings: counts.warning, info: counts.info, files: reports.length, acknowledged };
  const ok = summary.errors === 0 && !(options.warningsAsErrors && summary.warnings > 0);
  return { ok, dir, files: reports, skipped, findings, summary, ...(comparison && { comparison }) };
}

/** Marks the findings a recorded acknowledgement accepts (same file, key, code and record digest); returns how many. */
function markAcknowledged(findings: Finding[], entries: readonly LocatedEntry[], acknowledgements: readonly Acknowledgement[]): number {
  if (acknowledgements.length === 0) return 0;
  const recordAt = new Map(entries.map((e) => [`${basename(e.file)}\u0000${e.key}`, e.record]));
  let count = 0;
  for (const f of findings) {
    if (f.key === undefined || f.file === undefined) continue;
    if (findAcknowledgement(acknowledgements, f, recordAt.get(`${basename(f.file)}\u0000${f.key}`))) {
      f.acknowledged = true;
      count++;
    }
  }
  return count;
}
