#!/usr/bin/env node
// The mutation check: breaks each guarantee listed in scripts/mutations.json on purpose, one at a
// time (string replacements in source files), rebuilds the package, runs the tests that should
// notice, restores the source and reports which breakages survived. Every listed breakage must be
// caught. Run by hand or nightly (`pnpm mutation`), never as part of `pnpm test`.
//
//   node scripts/mutation-check.mjs [--only id,id] [--list] [--no-baseline] [--offline] [--json]
//
// The source is always restored: in a finally, on SIGINT/SIGTERM/SIGHUP, and, if this process was
// killed outright, by the next run (the originals are kept under node_modules/.cache until restored).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const listFile = join(root, 'scripts', 'mutations.json');
const pendingDir = join(root, 'node_modules', '.cache', 'deploystate-mutation');
const pendingFile = join(pendingDir, 'pending.json');
const runFile = join(pendingDir, 'run.pid');
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

function fail(message) {
  process.stderr.write(`mutation-check: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { only: undefined, list: false, baseline: true, offline: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only') options.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else if (arg.startsWith('--only=')) options.only = new Set(arg.slice(7).split(',').filter(Boolean));
    else if (arg === '--list') options.list = true;
    else if (arg === '--no-baseline') options.baseline = false;
    else if (arg === '--offline') options.offline = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 10).join('\n') + '\n');
      process.exit(0);
    } else fail(`unknown option ${arg}`);
  }
  return options;
}

/** The list, checked: each entry names a file, edits whose `find` occurs exactly once, and a test. */
function loadMutations() {
  let list;
  try {
    list = JSON.parse(readFileSync(listFile, 'utf8')).mutations;
  } catch (error) {
    fail(`cannot read ${relative(root, listFile)}: ${error.message}`);
  }
  if (!Array.isArray(list) || list.length === 0) fail(`${relative(root, listFile)} has no "mutations" list`);
  const ids = new Set();
  const problems = [];
  for (const m of list) {
    const where = `mutation ${JSON.stringify(m.id)}`;
    if (typeof m.id !== 'string' || ids.has(m.id)) problems.push(`${where}: the id is missing or used twice`);
    ids.add(m.id);
    if (typeof m.file !== 'string' || !existsSync(join(root, m.file))) {
      problems.push(`${where}: file ${m.file} does not exist`);
      continue;
    }
    if (!Array.isArray(m.edits) || m.edits.length === 0) problems.push(`${where}: no edits`);
    if (typeof m.test?.package !== 'string' || !Array.isArray(m.test?.files)) problems.push(`${where}: test.package and test.files are required`);
    const text = readFileSync(join(root, m.file), 'utf8');
    for (const edit of m.edits ?? []) {
      const count = text.split(edit.find).length - 1;
      if (count !== 1)
        problems.push(
          `${where}: anchor ${JSON.stringify(edit.find)} occurs ${count} times in ${m.file} (must be exactly once; update the anchor in scripts/mutations.json)`,
        );
    }
  }
  if (problems.length > 0) fail(`the mutation list does not match the source:\n  ${problems.join('\n  ')}`);
  return list;
}

/** The package folder (nearest package.json) that holds a file. */
function packageOf(file) {
  let dir = dirname(join(root, file));
  while (dir.startsWith(root) && dir !== root) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

// ---- applying and restoring -----------------------------------------------------------------

/** Originals of the files changed now: restored in memory-first order, also recorded on disk. */
const originals = new Map();

function restoreAll() {
  for (const [file, text] of originals) writeFileSync(file, text);
  originals.clear();
  rmSync(pendingFile, { force: true });
}

/** One run at a time: a second one would restore or rebuild over the first one's mutation. */
function claimRun() {
  mkdirSync(pendingDir, { recursive: true });
  try {
    const holder = Number(readFileSync(runFile, 'utf8'));
    if (holder !== process.pid && isAlive(holder)) fail(`another mutation check is running (pid ${holder}); wait for it or stop it`);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  writeFileSync(runFile, String(process.pid));
  process.on('exit', () => rmSync(runFile, { force: true }));
}

function apply(mutation) {
  const file = join(root, mutation.file);
  const text = readFileSync(file, 'utf8');
  let changed = text;
  for (const edit of mutation.edits) {
    if (changed.split(edit.find).length - 1 !== 1) throw new Error(`anchor ${JSON.stringify(edit.find)} not found once in ${mutation.file}`);
    changed = changed.replace(edit.find, () => edit.replace);
  }
  mkdirSync(pendingDir, { recursive: true });
  writeFileSync(pendingFile, JSON.stringify({ pid: process.pid, files: { [file]: text } }));
  originals.set(file, text);
  writeFileSync(file, changed);
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** A previous run killed outright leaves its originals behind: put them back first. A live run is left alone. */
function recoverPending() {
  if (!existsSync(pendingFile)) return;
  const pending = JSON.parse(readFileSync(pendingFile, 'utf8'));
  if (typeof pending.pid === 'number' && pending.pid !== process.pid && isAlive(pending.pid))
    fail(`another mutation check (pid ${pending.pid}) has ${Object.keys(pending.files).join(', ')} mutated right now; wait for it or stop it`);
  for (const [file, text] of Object.entries(pending.files ?? {})) {
    writeFileSync(file, text);
    process.stderr.write(`mutation-check: restored ${relative(root, file)}, left mutated by an interrupted run\n`);
  }
  rmSync(pendingFile, { force: true });
}

// ---- running --------------------------------------------------------------------------------

let current; // the child process running now, killed with its group on a signal

function run(command, args, { cwd, env = {}, timeoutMs = DEFAULT_TIMEOUT_MS, log }) {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    current = child;
    let output = '';
    const keep = (chunk) => {
      output += chunk.toString();
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      if (log) writeFileSync(log, output);
      resolveRun({ code, signal, timedOut, output });
    });
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function build(pkgDir) {
  return run('pnpm', ['run', 'build'], { cwd: pkgDir });
}

function buildSync(pkgDir) {
  spawnSync('pnpm', ['run', 'build'], { cwd: pkgDir, stdio: 'ignore' });
}

/** Runs a mutation's tests; returns the vitest JSON report (or undefined) and the run. */
async function runTests(mutation, label) {
  const cwd = join(root, mutation.test.package);
  const report = join(tmpdir(), `deploystate-mutation-${process.pid}-${label}.json`);
  const log = join(tmpdir(), `deploystate-mutation-${process.pid}-${label}.log`);
  rmSync(report, { force: true });
  const args = ['exec', 'vitest', 'run', ...mutation.test.files, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  if (mutation.test.name) args.push('-t', mutation.test.name);
  const result = await run('pnpm', args, { cwd, env: mutation.env ?? {}, timeoutMs: mutation.timeoutMs ?? DEFAULT_TIMEOUT_MS, log });
  let json;
  try {
    json = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    json = undefined;
  }
  rmSync(report, { force: true });
  return { ...result, json, log };
}

function failedTests(json, cwd) {
  if (!json) return [];
  const out = [];
  for (const file of json.testResults ?? []) {
    const name = relative(cwd, file.name);
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    if (failed.length === 0 && file.status === 'failed') out.push(`${name} (the file failed to run: ${String(file.message ?? '').split('\n')[0]})`);
    for (const a of failed) out.push(`${name} > ${a.fullName}`);
  }
  return out;
}

// ---- main -----------------------------------------------------------------------------------

const options = parseArgs(process.argv.slice(2));
if (!options.list) {
  claimRun();
  recoverPending();
}
const all = loadMutations();
if (options.only) for (const id of options.only) if (!all.some((m) => m.id === id)) fail(`no mutation with id ${id}`);
const chosen = all.filter((m) => !options.only || options.only.has(m.id));

if (options.list) {
  for (const m of all) process.stdout.write(`${m.id}\n  ${m.guarantee}\n  ${m.file}; tests: ${m.test.package} ${m.test.files.join(' ')}${m.test.name ? ` -t "${m.test.name}"` : ''}\n`);
  process.exit(0);
}

let building; // the package being rebuilt after a restore, rebuilt again if interrupted
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (current) killGroup(current);
    const dirs = new Set([...originals.keys()].map((file) => packageOf(relative(root, file))));
    if (building) dirs.add(building);
    restoreAll();
    for (const dir of dirs) if (dir) buildSync(dir);
    process.stderr.write(`\nmutation-check: interrupted; the source is restored${dirs.size > 0 ? ' and rebuilt' : ''}\n`);
    process.exit(130);
  });
}

const say = (line) => {
  if (!options.json) process.stdout.write(`${line}\n`);
};
const results = [];
try {
  if (options.baseline) {
    say('baseline: each test command must pass on the unchanged source');
    const seen = new Set();
    for (const m of chosen) {
      if (options.offline && m.needs === 'network') continue;
      const key = JSON.stringify([m.test, m.env ?? {}]);
      if (seen.has(key)) continue;
      seen.add(key);
      const base = await runTests(m, `baseline-${m.id}`);
      const passed = base.json?.numPassedTests ?? 0;
      if (base.code !== 0 || passed === 0)
        fail(
          `the tests of ${m.id} do not pass on the unchanged source (exit ${base.code}, ${passed} passed); fix them before checking mutations. Output: ${base.log}`,
        );
      say(`  ok  ${m.test.package} ${m.test.files.join(' ')}${m.test.name ? ` -t "${m.test.name}"` : ''} (${passed} passed)`);
    }
  }
  for (const m of chosen) {
    if (options.offline && m.needs === 'network') {
      results.push({ id: m.id, guarantee: m.guarantee, status: 'skipped', reason: 'needs the network (--offline)' });
      say(`SKIP     ${m.id}: needs the network`);
      continue;
    }
    const pkgDir = packageOf(m.file);
    const started = Date.now();
    const entry = { id: m.id, guarantee: m.guarantee, file: m.file, edits: m.edits };
    try {
      apply(m);
      if (m.build !== false && pkgDir) {
        const built = await build(pkgDir);
        if (built.code !== 0) {
          results.push({ ...entry, status: 'error', reason: `the mutated source does not build:\n${built.output.slice(-2000)}` });
          say(`ERROR    ${m.id}: the mutated source does not build (fix the mutation)`);
          continue;
        }
      }
      const tests = await runTests(m, m.id);
      const failed = failedTests(tests.json, join(root, m.test.package));
      const caught = tests.code !== 0 || tests.timedOut;
      results.push({
        ...entry,
        status: caught ? 'caught' : 'survived',
        ...(tests.timedOut && { reason: 'the tests timed out' }),
        failingTests: failed,
        durationMs: Date.now() - started,
        log: tests.log,
      });
      say(`${caught ? 'CAUGHT  ' : 'SURVIVED'} ${m.id} (${Math.round((Date.now() - started) / 1000)} s)`);
      for (const t of failed) say(`           by ${t}`);
      if (caught && failed.length === 0) say(`           (exit ${tests.code}${tests.timedOut ? ', timed out' : ''}; see ${tests.log})`);
    } finally {
      restoreAll();
      if (m.build !== false && pkgDir) {
        building = pkgDir;
        const rebuilt = await build(pkgDir);
        building = undefined;
        if (rebuilt.code !== 0) fail(`the restored source of ${relative(root, pkgDir)} does not build:\n${rebuilt.output.slice(-2000)}`);
      }
    }
  }
} finally {
  restoreAll();
}

const survived = results.filter((r) => r.status === 'survived' || r.status === 'error');
if (options.json) process.stdout.write(`${JSON.stringify({ ok: survived.length === 0, results }, null, 2)}\n`);
else {
  const count = (status) => results.filter((r) => r.status === status).length;
  say(`\n${count('caught')} caught, ${count('survived')} survived, ${count('error')} invalid, ${count('skipped')} skipped`);
  for (const r of survived) say(`  ${r.status.toUpperCase()}: ${r.id}: ${r.guarantee}${r.reason ? `\n    ${r.reason}` : ''}`);
}
process.exit(survived.length === 0 ? 0 : 1);
