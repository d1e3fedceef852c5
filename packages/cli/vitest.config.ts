import { defineConfig } from 'vitest/config';

// The tests run the built binary as child processes; they share two cores, so files run one at a time.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, fileParallelism: false } });
