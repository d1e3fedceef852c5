// A plain static scan of the project's scripts for code that writes deployments/*.json itself
// (writeFile*, rename*, fs-extra's writeJson/outputJson): each such write can drop what the store
// wrote to `records` meanwhile, so analyze names it with the change to make.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, relative } from 'node:path';

export interface DirectWrite {
  /** The script, relative to the project folder. */
  file: string;
  line: number;
  /** The function called: writeFileSync, renameSync, ... */
  call: string;
  /** The line as written (trimmed, at most 160 characters). */
  text: string;
  /** The change to make. */
  fix: string;
}

const SCRIPT_EXTENSIONS = new Set(['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts']);
const SKIP_FOLDERS = new Set(['node_modules', '.git', 'dist', 'build', 'artifacts', 'cache', 'typechain', 'typechain-types', 'coverage']);
/** Folders a Hardhat project keeps its deploy code in, looked for beside the deployments folder. */
export const DEFAULT_SCRIPT_FOLDERS = ['scripts', 'deploy', 'tasks'];
const MAX_FILES = 5_000;
const MAX_BYTES = 1024 * 1024;
const WRITE_CALL = /\b(writeFileSync|writeFile|renameSync|rename|writeJsonSync|writeJson|outputJsonSync|outputJson|outputFileSync|outputFile)\s*\(/g;

const FIX_WRITE =
  "replace with `await updateDeploymentFile(network, (doc) => { /* set only the keys this script owns */ })` from @deploystate/migrator: it keeps `records`, takes the store's lock and writes atomically";
const FIX_RENAME = 'this renames a file over deployments/<network>.json: write through updateDeploymentFile() instead (it writes atomically itself)';

/** The argument text of the call that opens at `open` (balanced parentheses, bounded). */
function argumentsAt(source: string, open: number): string {
  let depth = 0;
  const end = Math.min(source.length, open + 600);
  for (let i = open; i < end; i++) {
    const c = source[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return source.slice(open + 1, i);
  }
  return source.slice(open + 1, end);
}

/** Whether an identifier is assigned a value that names the deployments folder somewhere in the file. */
function namesDeployments(source: string, identifier: string): boolean {
  const assignment = new RegExp(`\\b${identifier.replace(/[$]/g, '\\$')}\\s*=([^;\\n]*(\\n[^;\\n]*){0,2})`, 'g');
  for (const match of source.matchAll(assignment)) if (/deployments/.test(match[1] ?? '')) return true;
  return false;
}

/** The first argument's text (up to the first comma outside brackets and template holes). */
function firstArgument(args: string): string {
  let depth = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) return args.slice(0, i);
  }
  return args;
}

/** Whether the path argument(s) name the deployments folder, directly or through a variable assigned in the file. */
function writesDeployments(source: string, args: string, rename: boolean): boolean {
  const target = rename ? args : firstArgument(args);
  if (/deployments/.test(target)) return true;
  const identifiers = new Set(target.match(/[A-Za-z_$][\w$]*/g) ?? []);
  return [...identifiers].some((id) => namesDeployments(source, id));
}

/** Direct writes in one file's text. */
export function findDirectWrites(source: string, file: string): DirectWrite[] {
  if (!/deployments/.test(source)) return [];
  const out: DirectWrite[] = [];
  for (const match of source.matchAll(WRITE_CALL)) {
    const call = match[1] as string;
    const open = (match.index ?? 0) + match[0].length - 1;
    // A method of something else (`store.rename(`) is not a file write unless it is fs's.
    const before = source.slice(Math.max(0, (match.index ?? 0) - 12), match.index);
    if (/\.\s*$/.test(before) && !/(fs|fse|promises|fsp|fsExtra)\s*\.\s*$/.test(before)) continue;
    if (!writesDeployments(source, argumentsAt(source, open), call.startsWith('rename'))) continue;
    const line = source.slice(0, match.index).split('\n').length;
    const text = (source.split('\n')[line - 1] ?? '').trim().slice(0, 160);
    out.push({ file, line, call, text, fix: call.startsWith('rename') ? FIX_RENAME : FIX_WRITE });
  }
  return out;
}

async function* scriptFiles(folder: string, budget: { files: number }): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (budget.files <= 0) return;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) yield* scriptFiles(path, budget);
    } else if (entry.isFile() && SCRIPT_EXTENSIONS.has(extname(entry.name)) && !entry.name.endsWith('.d.ts')) {
      budget.files--;
      yield path;
    }
  }
}

/**
 * Scans script folders (default: scripts/, deploy/ and tasks/ beside the deployments folder) for
 * direct writes to deployments/*.json. Bounded: at most 5 000 files of at most 1 MiB each.
 */
export async function scanDirectWrites(deployments: string, folders?: readonly string[]): Promise<DirectWrite[]> {
  const project = dirname(deployments);
  const roots = folders ?? DEFAULT_SCRIPT_FOLDERS.map((f) => join(project, f));
  const budget = { files: MAX_FILES };
  const out: DirectWrite[] = [];
  for (const root of roots) {
    for await (const path of scriptFiles(root, budget)) {
      const info = await stat(path).catch(() => undefined);
      if (!info || info.size > MAX_BYTES) continue;
      const source = await readFile(path, 'utf8').catch(() => '');
      out.push(...findDirectWrites(source, relative(project, path) || path));
    }
  }
  return out;
}
