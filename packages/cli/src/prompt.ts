// The yes/no question before a step that changes tracked files or the read side. "no" (or end of
// input) is DECLINED, exit 1; Ctrl-C is CANCELLED, exit 130. Neither is a usage error or a bug, and
// nothing has been written when either happens: callers ask before their first write.
import { createInterface } from 'node:readline';
import { OutcomeError } from './outcome.js';

export async function askYesNo(action: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
  const rl = createInterface({ input, output, terminal: (input as { isTTY?: boolean }).isTTY === true });
  try {
    const answer = await new Promise<string | null>((resolve, reject) => {
      rl.on('SIGINT', () => {
        output.write('\n');
        reject(new OutcomeError('CANCELLED', `${action} cancelled at the prompt (Ctrl-C); nothing was changed`, 'run the command again when ready'));
      });
      rl.on('close', () => resolve(null));
      rl.question(`Proceed with ${action}? [y/N] `, resolve);
    });
    const normalized = (answer ?? '').trim().toLowerCase();
    if (normalized !== 'y' && normalized !== 'yes') {
      throw new OutcomeError('DECLINED', `${action} declined at the prompt; nothing was changed`);
    }
  } finally {
    rl.close();
  }
}
