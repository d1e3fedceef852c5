// The repository README's first code block is what a newcomer types: exactly two commands, the
// demo and the test command, and CI (.ci/run) runs that same test command after `pnpm build`.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const README = new URL('../../../README.md', import.meta.url);
const CI = new URL('../../../.ci/run', import.meta.url);

/** Lines of the first fenced code block that are commands (not blank, not comments). */
function firstBlockCommands(markdown: string): string[] {
  const match = /```[\w-]*\n([\s\S]*?)```/.exec(markdown);
  expect(match, 'README has a fenced code block').not.toBeNull();
  return (match?.[1] ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Command lines of a shell script, comments and blank lines left out. */
function scriptCommands(script: string): string[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe('README first commands', () => {
  it('are exactly two: one runs `migrate --demo`, the other is the test command, and CI runs that test command after pnpm build', async () => {
    const commands = firstBlockCommands(await readFile(README, 'utf8'));
    expect(commands).toHaveLength(2);
    const demo = commands.filter((c) => /\bmigrate --demo\b/.test(c));
    expect(demo).toHaveLength(1);
    const [testCommand] = commands.filter((c) => !demo.includes(c));
    expect(testCommand).toMatch(/\btest\b/);
    const ci = scriptCommands(await readFile(CI, 'utf8'));
    const build = ci.indexOf('pnpm build');
    expect(build, '.ci/run runs `pnpm build`').toBeGreaterThanOrEqual(0);
    // The command may have its output piped on (to print a closing summary), never altered.
    const runsTest = ci.findIndex(
      (line) => line === testCommand || line.startsWith(`${testCommand} 2>&1 |`) || line.startsWith(`${testCommand} |`),
    );
    expect(runsTest, `.ci/run runs \`${testCommand}\` after \`pnpm build\``).toBeGreaterThan(build);
  });
});
