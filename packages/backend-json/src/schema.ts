// The published format of a deployment file: its JSON Schema (shipped as a file in the package),
// the schema version, and validation with ajv over a form where big integers are plain numbers.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { beforeLazyLoad, finding, isJsonNumber, setOwnProperty, type Finding } from '@deploystate/core';

/** The version this package reads and writes. Files without `schemaVersion` are version 0 (legacy). */
export const SCHEMA_VERSION = 1;

/**
 * What a written file's `$schema` says: the schema's published address (the package ships it at
 * `schema/deployment-file.schema.json`). An absolute URL, because editors resolve it without the
 * package installed, and the schema itself carries the same `$id`.
 */
export const SCHEMA_URL = 'https://unpkg.com/@deploystate/backend-json/schema/deployment-file.schema.json';

// src/ and dist/ both sit one level below the package root, where schema/ lives.
const SCHEMA_FILE = new URL('../schema/deployment-file.schema.json', import.meta.url);

/** The JSON Schema (draft-07) of a version-1 deployment file, as an object. */
export const deploymentFileSchema: Record<string, unknown> = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;

let compiled: ValidateFunction | undefined;

type AjvClass = new (options: Options) => { compile(schema: Record<string, unknown>): ValidateFunction };

function validator(): ValidateFunction {
  // ajv is loaded on the first validation, not with the package: loading it took about 24 ms of
  // every process that imports the store (a deploy script's, the CLI's), and only validation needs it.
  if (compiled === undefined) {
    beforeLazyLoad();
    const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: AjvClass };
    // validateSchema off: checking our own shipped schema against draft-07's meta-schema took most of
    // the compile (about 80 of 140 ms, once per thread that validates); a test checks it instead.
    compiled = new Ajv({ allErrors: true, strict: false, validateSchema: false }).compile(deploymentFileSchema);
  }
  return compiled;
}

/**
 * The value as ajv can type it. ajv knows no bigint, so each bigint (an integer beyond 2^53 from the
 * lossless parser) and each JsonNumber becomes the nearest double, clamped to +-Number.MAX_VALUE: still an integer of
 * the same sign and about the same size, so `integer`, `minimum` and `maximum` judge it as they
 * would the exact value. Only the objects and arrays on the way to such a number are copied; the
 * rest is the value itself (ajv only reads it), so a 100k-record file is not copied whole to be
 * validated. Never store this form: it is for validation only.
 */
export function toSchemaForm(value: unknown): unknown {
  if (typeof value === 'bigint' || isJsonNumber(value)) {
    // A JsonNumber of a fraction beyond the double range (1.5e-400) stays a number: 0.
    const approx = Number(value);
    return Number.isFinite(approx) ? approx : approx > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const form = typeof item === 'object' || typeof item === 'bigint' ? toSchemaForm(item) : item;
      if (out === undefined && form !== item) out = value.slice(0, i);
      if (out !== undefined) out.push(form);
    }
    return out ?? value;
  }
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = source[key];
    const form = typeof item === 'object' || typeof item === 'bigint' ? toSchemaForm(item) : item;
    if (out === undefined && form !== item) {
      out = {};
      for (let j = 0; j < i; j++) setOwnProperty(out, keys[j] as string, source[keys[j] as string]);
    }
    if (out !== undefined) setOwnProperty(out, key, form);
  }
  return out ?? value;
}

/** The version a parsed file declares: 0 when it has none (legacy), undefined when it is not a number. */
export function stateFileVersion(parsed: unknown): number | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  if (!Object.hasOwn(parsed, 'schemaVersion')) return 0;
  const version = (parsed as Record<string, unknown>).schemaVersion;
  return typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined;
}

const escapePointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (segment: string): string => segment.replace(/~1/g, '/').replace(/~0/g, '~');

function describeError(error: ErrorObject): { pointer: string; message: string } {
  let pointer = error.instancePath;
  if (error.keyword === 'required') pointer += `/${escapePointer(String((error.params as { missingProperty: string }).missingProperty))}`;
  if (error.keyword === 'additionalProperties')
    pointer += `/${escapePointer(String((error.params as { additionalProperty: string }).additionalProperty))}`;
  const detail =
    error.keyword === 'const'
      ? `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`
      : (error.message ?? error.keyword);
  return { pointer, message: `${pointer || '/'}: ${detail}` };
}

/**
 * Validates a parsed deployment file (from core's parseLossless) against the published schema.
 * Every problem is a SCHEMA_VIOLATION finding with the JSON pointer of the offending value, the
 * file, and for a record its contractName and key. A file declaring a newer schemaVersion gets a
 * single UNSUPPORTED_SCHEMA_VERSION finding instead: its shape is unknown here. A legacy file (no
 * schemaVersion) is validated as it stands and so reports what adoption would add. `plain`: the
 * caller's parse found no exact number in the value (parseLosslessDocument's `plain`), so the
 * walk that turns them into doubles for the schema is skipped; never pass it for a value built or
 * changed since.
 */
export function validateStateFile(parsed: unknown, file?: string, options: { plain?: boolean } = {}): Finding[] {
  const where = file === undefined ? {} : { file };
  const version = stateFileVersion(parsed);
  if (version !== undefined && version > SCHEMA_VERSION) {
    return [
      finding(
        'UNSUPPORTED_SCHEMA_VERSION',
        `schemaVersion ${version} is newer than ${SCHEMA_VERSION}, the newest this version understands`,
        { ...where, pointer: '/schemaVersion' },
      ),
    ];
  }
  const validate = validator();
  // A value with no exact number in it (a parse that said so: `plain`) is its own schema form.
  if (validate(options.plain === true ? parsed : toSchemaForm(parsed))) return [];
  const chainId = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).chainId : undefined;
  return (validate.errors ?? []).map((error) => {
    const { pointer, message } = describeError(error);
    const segments = pointer.split('/').slice(1).map(unescapePointer);
    const place: Omit<Finding, 'code' | 'severity' | 'message'> = { ...where, pointer };
    if (segments[0] === 'records' && segments[1] !== undefined) {
      place.contractName = segments[1];
      if (typeof chainId === 'number' && Number.isSafeInteger(chainId) && chainId >= 0) {
        place.chainId = chainId;
        place.key = `${chainId}-${segments[1]}`;
      }
      if (segments[2] !== undefined) place.field = segments.slice(2).join('.');
    }
    return finding('SCHEMA_VIOLATION', file === undefined ? message : `${file}: ${message}`, place);
  });
}
