// Copies of records handed in and out of the store. Records are JSON-shaped data (plain objects,
// arrays, strings, numbers, bigints, JsonNumbers, booleans, null), which a direct walk copies several times
// faster than structuredClone, with less garbage; anything else falls back to structuredClone.

import { isJsonNumber, setOwnProperty } from '@deploystate/core';

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function copyData<T>(value: T): T {
  // A JsonNumber is immutable: shared, never copied (structuredClone would lose its class).
  if (typeof value !== 'object' || value === null || isJsonNumber(value)) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyData(value[i] as unknown);
    return out as T;
  }
  if (!isPlainObject(value)) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyData(value[key]);
    setOwnProperty(out, key, item);
  }
  return out as T;
}
