import { defineConfig } from 'vitest/config';

// The tests run the built binary as child processes, two files at a time: one at a time left a core
// idle for the last two and a half minutes of `pnpm test` (the other packages' tests done), 472 s
// against 363 s for the whole run on two cores. Each test works in folders of its own (tmux sockets
// and chain ports are per process).
// The sample at a runbook point a test starts from is made once per run (prepared-samples-root.ts,
// helpers.ts's sampleAt) and copied into the test's own folder.
// packaging.test.ts is a project of its own, run after the others and, from the root, after every
// package's tests (turbo's test:packaging): `pnpm pack` runs each package's prepack, which removes
// and rebuilds that package's dist/, so nothing that loads a dist/ may run beside it.
const shared = { testTimeout: 60_000 };
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'cli', include: ['test/**/*.test.ts'], exclude: ['test/packaging.test.ts'], globalSetup: ['test/prepared-samples-root.ts'], ...shared, maxWorkers: 2 },
      },
      { extends: true, test: { name: 'packaging', include: ['test/packaging.test.ts'], sequence: { groupOrder: 1 }, ...shared, fileParallelism: false } },
    ],
  },
});
