// Once per run: the folder where helpers.ts keeps the demo walked to each stage a test asked for
// (walked once in the run, then copied into each test's own folder), removed when the run ends.
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    demoTemplatesRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await makeTempDir('migrator-demo-templates-');
  project.provide('demoTemplatesRoot', root);
  return () => removeTempDir(root);
}
