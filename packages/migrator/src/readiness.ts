// The named pass/fail checks that readiness reports (verify dual-write, rollback readiness) are
// made of: each check runs, and a thrown error becomes its failing detail instead of ending the run.
import type { ReadinessReport } from './types.js';

export interface Checklist {
  readonly checks: ReadinessReport['checks'];
  check(name: string, run: () => Promise<string>): Promise<void>;
  report(): ReadinessReport;
}

export function checklist(): Checklist {
  const checks: ReadinessReport['checks'] = [];
  return {
    checks,
    async check(name, run) {
      try {
        checks.push({ name, ok: true, detail: await run() });
      } catch (error) {
        checks.push({ name, ok: false, detail: error instanceof Error ? error.message : String(error) });
      }
    },
    report: () => ({ ready: checks.every((c) => c.ok), checks }),
  };
}
