// The factory's two journal lines per write, printed by hand: the same text as the journal prints
// for the entry object (type first, id last, no whitespace), without building the entry, spreading
// it and walking it again for exact numbers. The record's text is the one stringifyLossless prints.
import { stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import type { MigrationPhase } from './types.js';

/** The fields of a put's or delete's intent line, besides its record. */
export interface IntentFields {
  key: string;
  op: 'put' | 'delete';
  /** canonicalDigest of the record written; null for a delete. */
  digest: string | null;
  time: string;
  pid: number;
  phase: MigrationPhase;
  id: string;
}

/** The intent line (no newline) as the journal prints `{ type: 'intent', ...fields, record }`, with the record's text given. */
export function printIntent(f: IntentFields, record: DeploymentRecord | undefined): string {
  return (
    `{"type":"intent","key":${JSON.stringify(f.key)},"op":"${f.op}","digest":${f.digest === null ? 'null' : JSON.stringify(f.digest)}` +
    `${record === undefined ? '' : `,"record":${stringifyLossless(record)}`}` +
    `,"time":${JSON.stringify(f.time)},"pid":${f.pid},"phase":${JSON.stringify(f.phase)},"id":${JSON.stringify(f.id)}}`
  );
}

/** The fields of an `ok` outcome line. */
export interface OkFields {
  refId: string;
  key: string;
  op: 'put' | 'delete';
  durationMs: number;
  time: string;
  pid: number;
  phase: MigrationPhase;
  id: string;
}

/** The `ok` outcome line (no newline) as the journal prints `{ type: 'outcome', ...fields, outcome: 'ok' }` in the write protocol's order. */
export function printOk(f: OkFields): string {
  return (
    `{"type":"outcome","refId":${JSON.stringify(f.refId)},"key":${JSON.stringify(f.key)},"op":"${f.op}","outcome":"ok"` +
    `,"durationMs":${JSON.stringify(f.durationMs)},"time":${JSON.stringify(f.time)},"pid":${f.pid},"phase":${JSON.stringify(f.phase)},"id":${JSON.stringify(f.id)}}`
  );
}
