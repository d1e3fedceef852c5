// Outcomes of a run that are not errors of the toolkit: a prompt answered "no" (DECLINED, exit 1)
// or interrupted (CANCELLED, exit 130). Never reported as a bug.
import type { RunOutcome } from '@deploystate/core';

export class OutcomeError extends Error {
  override readonly name = 'OutcomeError';

  constructor(
    readonly code: Extract<RunOutcome, 'DECLINED' | 'CANCELLED'>,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export function isOutcome(error: unknown): error is OutcomeError {
  return error instanceof Error && error.name === 'OutcomeError';
}
