// The one `--json` document every run prints, success or failure, parse errors included:
// `{ ok, command, version, data }` or `{ ok: false, command, version, error: { code, message, hint, ... } }`,
// with `warnings` beside them when the library warned during the run.
// envelope.schema.json (shipped in the package) describes it; tests check every command against it.

export interface EnvelopeError {
  /** A core ErrorCode, or USAGE, DECLINED, CANCELLED, CHECK_FAILED, BENCH_NOT_INSTALLED, UNEXPECTED. */
  code: string;
  message: string;
  hint?: string;
  file?: string;
  key?: string;
  position?: { line: number; column: number; offset?: number };
  /** Structured lists for machines: the findings a gate wants acknowledged, the keys that differ. */
  details?: Record<string, unknown>;
  /** Only for UNEXPECTED: what a bug report needs. */
  versions?: { deploystate: string; node: string; platform: string };
}

/** A warning the library gave during the run (printed on stderr as well). */
export interface EnvelopeWarning {
  code: string;
  message: string;
  hint: string;
  file?: string;
  keys?: string[];
}

export type Envelope =
  | { ok: true; command: string | null; version: string; data: unknown; warnings?: EnvelopeWarning[] }
  | { ok: false; command: string | null; version: string; data?: unknown; error: EnvelopeError; warnings?: EnvelopeWarning[] };

export const ENVELOPE_SCHEMA_URL = new URL('../envelope.schema.json', import.meta.url);

export function successEnvelope(command: string | null, version: string, data: unknown): Envelope {
  return { ok: true, command, version, data: data === undefined ? null : data };
}

export function failureEnvelope(command: string | null, version: string, error: EnvelopeError, data?: unknown): Envelope {
  return { ok: false, command, version, ...(data !== undefined && { data }), error };
}
