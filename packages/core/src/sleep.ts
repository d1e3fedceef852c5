// The toolkit's one pause, for bounded retry and poll loops (lock waits, LevelDB retries, soaks).

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
