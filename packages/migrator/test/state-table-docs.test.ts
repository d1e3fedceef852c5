// The root README's state table is the machine's table written out: every phase's commands in
// the same order, and every gate of each transition named in its phase's row.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { allowedIn, PHASE_COMMANDS, PHASES, TRANSITIONS, type TransitionName } from '../src/index.js';

const README = new URL('../../../README.md', import.meta.url);

async function stateTableRows(): Promise<Map<string, { commands: string[]; gates: string }>> {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('### The state table'), text.indexOf('### The path of one put'));
  const rows = new Map<string, { commands: string[]; gates: string }>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const phase = /^`([a-z-]+)`$/.exec(cells[1] ?? '')?.[1];
    if (phase === undefined) continue;
    const commands = [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    rows.set(phase, { commands, gates: cells[3] ?? '' });
  }
  return rows;
}

describe('the root README state table', () => {
  it('lists every phase with its commands in the order status shows them', async () => {
    const rows = await stateTableRows();
    expect([...rows.keys()]).toEqual([...PHASES]);
    for (const phase of PHASES) expect(rows.get(phase)?.commands).toEqual([...PHASE_COMMANDS[phase]]);
  });

  it('names every gate of each transition in the row of a phase that allows it', async () => {
    const rows = await stateTableRows();
    for (const command of Object.keys(TRANSITIONS) as TransitionName[]) {
      const gates = [...TRANSITIONS[command].gates, ...TRANSITIONS[command].atRun];
      if (gates.length === 0) continue;
      const documented = allowedIn(command).some((phase) => gates.every((gate) => rows.get(phase)?.gates.includes(gate)));
      expect(documented, `${command}: ${gates.join(', ')}`).toBe(true);
    }
  });
});
