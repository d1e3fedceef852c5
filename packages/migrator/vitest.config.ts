import { defineConfig } from 'vitest/config';

// Two files at a time (vitest's default on 2 cores is one): most of these tests wait on other
// processes, locks and timeouts rather than compute, so a second file runs in those waits. Each file
// works in temp folders of its own and its own worker process; timing asserts are bounded loosely.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, maxWorkers: 2 } });
