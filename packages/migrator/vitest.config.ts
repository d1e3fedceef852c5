import { defineConfig } from 'vitest/config';
import { TEST_FILES_AT_ONCE } from '../../vitest.shared';

// Several files at a time (../../vitest.shared.ts): most of these tests wait on other processes,
// locks and timeouts rather than compute. Each file works in temp folders of its own and its own
// worker process; timing asserts are bounded loosely.
export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, maxWorkers: TEST_FILES_AT_ONCE } });
