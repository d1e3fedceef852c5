// The result of a drill: one line per check, PASS/FAIL/SKIP/WARN with what was seen. A check that
// throws is a FAIL naming the error's code, never a crash of the whole drill.
export type CheckStatus = 'pass' | 'fail' | 'skip' | 'warn';

export interface DrillCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export class DrillChecks {
  readonly list: DrillCheck[] = [];

  pass(name: string, detail: string): void {
    this.list.push({ name, status: 'pass', detail });
  }

  fail(name: string, detail: string): void {
    this.list.push({ name, status: 'fail', detail });
  }

  skip(name: string, detail: string): void {
    this.list.push({ name, status: 'skip', detail });
  }

  warn(name: string, detail: string): void {
    this.list.push({ name, status: 'warn', detail });
  }

  /** PASS when `ok`, FAIL otherwise. */
  expect(name: string, ok: boolean, passDetail: string, failDetail: string): boolean {
    if (ok) this.pass(name, passDetail);
    else this.fail(name, failDetail);
    return ok;
  }

  /** Runs one check; an error it throws becomes a FAIL with the error's code and message. */
  async attempt(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.fail(name, describeError(error));
    }
  }

  get ok(): boolean {
    return this.list.every((check) => check.status !== 'fail');
  }
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  return code === undefined ? `unexpected error: ${message}` : `${code}: ${message}`;
}

/** Runs `body` and returns the code it failed with (`undefined` when it did not fail). */
export async function failureCode(body: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await body();
    return undefined;
  } catch (error) {
    return errorCode(error) ?? 'UNCODED';
  }
}
