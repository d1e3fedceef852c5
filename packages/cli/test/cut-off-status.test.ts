// A deploy script SIGKILLed in the middle of a json-only write: `status` names the write, says whether
// it landed in its network file and what to check, in text and in --json.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-cut-off-', { demo: false });
const migrator = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/migrator')).href;
const core = pathToFileURL(createRequire(import.meta.url).resolve('@deploystate/core')).href;
let dir = '';

/** A deploy script that puts one record and is SIGKILLed once the JSON side holds it, before its outcome. */
const KILLED_WRITER = `
import { createStateStore } from ${JSON.stringify(migrator)};
import { sampleRecord } from ${JSON.stringify(core)};
const store = createStateStore({ cwd: process.argv[2], env: {} });
await store.open();
const json = store['sides'].json;
for (const name of ['put', 'putChecked']) {
  const write = json[name].bind(json);
  json[name] = async (...args) => {
    await write(...args);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => undefined);
  };
}
await store.putContract(97, sampleRecord(97, 'Killed', 'bsctestnet', 7));
`;

beforeAll(async () => {
  dir = join(fixture.root, 'project');
  await sampleAt(dir, [], 'migrate --demo');
  const script = join(fixture.root, 'killed-writer.mjs');
  await writeFile(script, KILLED_WRITER);
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    spawn(process.execPath, [script, dir], { stdio: 'ignore' }).on('exit', (_code, s) => resolve(s)),
  );
  expect(signal).toBe('SIGKILL');
}, 120_000);

describe('status after a json-only write cut off', () => {
  it('names the write, that it landed, and what to check', async () => {
    const doc = onlyDocument(await deploystate(['status', '--json'], { cwd: dir })) as { cutOffWrites?: unknown };
    expect(doc.cutOffWrites).toEqual([expect.objectContaining({ key: '97-Killed', op: 'put', file: 'bsctestnet.json', landed: true })]);
    const text = await deploystate(['status'], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    const words = text.stdout.replace(/\s+/g, ' ');
    expect(words).toContain('cut off');
    expect(words).toMatch(/put of 97-Killed by pid \d+ at \S+: it landed: bsctestnet\.json holds the record it wrote/);
    expect(words).toContain('re-run the script');
  });
});
