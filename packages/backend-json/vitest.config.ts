import { defineConfig } from 'vitest/config';
import { TEST_FILES_AT_ONCE } from '../../vitest.shared';

export default defineConfig({ test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, maxWorkers: TEST_FILES_AT_ONCE, globalSetup: ['test/global-setup.ts'] } });
