// A one-off soak of the number-literal property, never part of the suite: SEEDS random seeds of
// RUNS runs each, as SEEDS runs of CI would try it. Run: npx tsx test/soak-number-literals.ts 10000 3000
import fc from 'fast-check';
import { parsesToExactValue } from './number-literal-property.js';

const seeds = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 3_000);
const started = Date.now();
for (let i = 1; i <= seeds; i++) {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const result = fc.check(parsesToExactValue, { numRuns: runs, seed });
  if (result.failed) {
    process.stderr.write(`seed ${seed} failed after ${i - 1} passing seeds:\n${fc.defaultReportMessage(result)}\n`);
    process.exit(1);
  }
  if (i % 500 === 0) process.stdout.write(`${i} seeds x ${runs} runs passed (${Math.round((Date.now() - started) / 1000)} s)\n`);
}
process.stdout.write(`all ${seeds} seeds x ${runs} runs passed\n`);
