// Copies of records handed in and out of the store. Records are JSON-shaped data (plain objects,
// arrays, strings, numbers, bigints, JsonNumbers, booleans, null), which a direct walk copies several times
// faster than structuredClone, with less garbage; anything else falls back to structuredClone.

import { isJsonNumber, setOwnProperty } from '@deploystate/core';

export function copyData<T>(value: T): T {
  // A JsonNumber is immutable: shared, never copied (structuredClone would lose its class).
  if (typeof value !== 'object' || value === null || isJsonNumber(value)) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out[i] = typeof item === 'object' && item !== null ? copyData(item) : item;
    }
    return out as T;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  // A spread copies own data properties as data (`__proto__` included) in one step, about twice as
  // fast as setting them one by one; then only the values that are objects are copied in depth.
  const out = (proto === null ? Object.assign(Object.create(null) as object, value) : { ...value }) as Record<string, unknown>;
  const keys = Object.keys(out);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = out[key];
    if (typeof item === 'object' && item !== null) setOwnProperty(out, key, copyData(item));
  }
  return out as T;
}
