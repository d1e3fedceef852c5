// Once per run: the folder where helpers.ts keeps the demo sample at each runbook point a test asked
// for (made by the real CLI once, then copied into each test's own folder), removed when the run ends.
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    preparedSamplesRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await makeTempDir('deploystate-cli-prepared-');
  project.provide('preparedSamplesRoot', root);
  return () => removeTempDir(root);
}
