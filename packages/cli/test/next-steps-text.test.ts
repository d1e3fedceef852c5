// What people read when a command is refused or asks first: a refusal names the commands the phase
// allows (never only "run status"), and the rollback's question names each phase it passes once,
// also when it finishes a rollback stopped part-way. Real processes, real files.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploystate, phaseOf, rollbackBehindWrite, sampleAt, untilPhase, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-next-steps-');

/** The `next:` line of a run's error output, trimmed. */
function nextLine(stderr: string): string {
  return (stderr.split('\n').find((line) => line.trim().startsWith('next:')) ?? '').trim();
}

describe('a command the phase does not allow', () => {
  it('names the commands that phase allows, each as it is typed', async () => {
    // promote is refused by the CLI before it asks; cutover and fold-in by the migrator's phase table.
    for (const command of [['promote'], ['cutover'], ['fold-in']]) {
      const refused = await deploystate([...command, '--yes'], { cwd: fixture.sample });
      expect(refused.code, command.join(' ')).not.toBe(0);
      expect(refused.stderr).toContain('TRANSITION_REFUSED');
      const next = nextLine(refused.stderr);
      expect(next, command.join(' ')).toBe(
        'next: leveldb-only allows `deploystate analyze`, `deploystate dual-write enable`, `deploystate restore leveldb`, `deploystate rollback` (`deploystate status` shows what each still needs)',
      );
    }
  });
});

describe("the rollback's question", () => {
  it('names each phase once: from json-primary, and again when it finishes a rollback stopped in rolling-back', async () => {
    const dir = await sampleAt(join(fixture.root, 'rollback'), [['dual-write', 'enable'], ['migrate'], ['verify'], ['promote']]);
    // No terminal and no --yes: the plan is printed, then the run is refused before any change.
    const asked = await deploystate(['rollback'], { cwd: dir });
    expect(asked.code).not.toBe(0);
    expect(asked.stderr).toContain('switch phase json-primary -> rolling-back -> leveldb-only (writes are refused while it runs)');

    // Stopped in rolling-back (SIGINT while a write in flight keeps it waiting).
    const { rollback, exited, letGo } = await rollbackBehindWrite(dir);
    try {
      await untilPhase(dir, 'rolling-back');
    } finally {
      rollback.kill('SIGINT');
      await exited;
      await letGo();
    }
    expect(await phaseOf(dir)).toBe('rolling-back');
    const again = await deploystate(['rollback'], { cwd: dir });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('switch phase rolling-back -> leveldb-only (writes are refused while it runs)');
    expect(again.stderr).not.toMatch(/rolling-back -> rolling-back/);
    const finished = await deploystate(['rollback', '--yes'], { cwd: dir });
    expect(finished.code, finished.stderr).toBe(0);
    expect(await phaseOf(dir)).toBe('leveldb-only');
    // Its counts say what they count ("replayed 37324, puts 1138" beside a plan of 37225 read as a mismatch);
    // with nothing carried back, no note on them.
    expect(finished.stdout).toMatch(/keys carried back\s+written to LevelDB/);
    expect(finished.stdout).not.toContain('LevelDB lacked or held otherwise');
  }, 60_000);
});
