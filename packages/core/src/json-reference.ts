// A plain recursive-descent JSON reader with the codec's number model. It is the slow, obvious
// implementation: tests prove the fast parser against it, and it places a duplicated key, which
// native parsing drops without a word. Expects text that JSON.parse accepts.
import { numberLiteralValue } from './json-number.js';
import { setOwnProperty } from './record.js';

export interface ReferenceResult {
  value: unknown;
  /** The first key seen twice in one object: the name, the object's JSON pointer, the offset of the second. */
  duplicate?: { key: string; pointer: string; offset: number };
}

const escapePointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

export function parseReference(text: string): ReferenceResult {
  let i = 0;
  let duplicate: ReferenceResult['duplicate'];

  const space = (): void => {
    for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  };
  const fail = (): never => {
    throw new SyntaxError(`invalid JSON at offset ${i}`);
  };
  const string = (): string => {
    const start = i;
    for (i++; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 92) i++;
      else if (c === 34) break;
    }
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (pointer: string): unknown => {
    space();
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) {
      i++;
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      space();
      if (text.charCodeAt(i) === 125) {
        i++;
        return out;
      }
      for (;;) {
        space();
        const at = i;
        if (text.charCodeAt(i) !== 34) fail();
        const key = string();
        if (seen.has(key)) duplicate ??= { key, pointer, offset: at };
        seen.add(key);
        space();
        if (text.charCodeAt(i++) !== 58) fail();
        setOwnProperty(out, key, value(`${pointer}/${escapePointer(key)}`));
        space();
        const next = text.charCodeAt(i++);
        if (next === 125) return out;
        if (next !== 44) fail();
      }
    }
    if (c === 91 /* [ */) {
      i++;
      const out: unknown[] = [];
      space();
      if (text.charCodeAt(i) === 93) {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(`${pointer}/${out.length}`));
        space();
        const next = text.charCodeAt(i++);
        if (next === 93) return out;
        if (next !== 44) fail();
      }
    }
    if (c === 34) return string();
    for (const [word, result] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return result;
      }
    }
    const match = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    match.lastIndex = i;
    const literal = match.exec(text)?.[0];
    if (!literal) return fail();
    i += literal.length;
    return numberLiteralValue(literal);
  };

  const result = value('');
  space();
  if (i !== text.length) fail();
  return duplicate ? { value: result, duplicate } : { value: result };
}
