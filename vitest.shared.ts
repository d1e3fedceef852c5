// Settings every package's vitest.config.ts shares.

/**
 * How many test files of one package run at once. Most tests wait on child processes, locks,
 * timers and syncs more than they compute: one file at a time (vitest's default on two cores) left
 * a core idle, and with four backend-json's suite took 25 s instead of 54, the migrator's 92 s
 * instead of 178 (each alone on this two-core machine). `pnpm test` runs two packages at once.
 */
export const TEST_FILES_AT_ONCE = 4;
