import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { locate, pointerOf } from '../src/locate.js';
import { positionOfText } from './helpers.js';

describe('locate', () => {
  it('finds the start of values by pointer, through escaped keys and arrays', () => {
    const text = '{\n  "a/b": {"x~y": [10, "s", {"k": null}]},\n  "\\u00e9t\\u00e9": true,\n  "n": -12.5e+3\n}\n';
    const at = locate(text);
    expect(at('')).toMatchObject({ line: 1, column: 1 });
    expect(at(pointerOf('a/b'))).toMatchObject(positionOfText(text, '{"x~y"'));
    expect(at(pointerOf('a/b', 'x~y', 1))).toMatchObject(positionOfText(text, '"s"'));
    expect(at(pointerOf('a/b', 'x~y', 2, 'k'))).toMatchObject(positionOfText(text, 'null'));
    expect(at(pointerOf('été'))).toMatchObject(positionOfText(text, 'true'));
    expect(at('/n')).toMatchObject({ line: 4, column: 8 });
  });

  it('keeps numbers beyond 2^53 and every other token of the grammar in step', () => {
    const text = '[123456789012345678901234567890, -0.0e-0, 1E400, "q\\"\\\\\\/\\b\\f\\n\\r\\t", false, {"big": 18446744073709551617}]';
    const at = locate(text);
    expect(at('/1').offset).toBe(text.indexOf('-0.0'));
    expect(at('/2').offset).toBe(text.indexOf('1E400'));
    expect(at('/3').offset).toBe(text.indexOf('"q'));
    expect(at('/4').offset).toBe(text.indexOf('false'));
    expect(at('/5/big').offset).toBe(text.indexOf('18446744073709551617'));
  });

  it('resolves a pointer to a missing value to its nearest existing ancestor', () => {
    const text = '{\n  "records": {\n    "A": {"chainId": 1}\n  }\n}';
    const at = locate(text);
    expect(at('/records/A/address')).toMatchObject(positionOfText(text, '{"chainId"'));
    expect(at('/nothing/here')).toMatchObject({ line: 1, column: 1 });
  });

  it('survives nesting deeper than the call stack would allow', () => {
    const depth = 50_000;
    const text = `${'['.repeat(depth)}7${']'.repeat(depth)}`;
    expect(locate(text)(`/0`.repeat(depth)).offset).toBe(depth);
  });

  it('indexes invalid text up to the error without throwing', () => {
    const at = locate('{"a": 1, "b": [2, }');
    expect(at('/a').offset).toBe(6);
    expect(at('/b').offset).toBe(14);
    expect(at('/b/0').offset).toBe(15);
    expect(at('/c').offset).toBe(0);
  });

  it('places every value of any JSON document where its text starts', () => {
    const pointers = (value: unknown, base = ''): Array<[string, unknown]> => {
      const out: Array<[string, unknown]> = [[base, value]];
      if (Array.isArray(value)) value.forEach((v, i) => out.push(...pointers(v, `${base}/${i}`)));
      else if (typeof value === 'object' && value !== null) {
        // JSON.parse keeps the last of duplicate keys; generated objects have none.
        for (const [k, v] of Object.entries(value)) out.push(...pointers(v, base + pointerOf(k)));
      }
      return out;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        const parsed: unknown = JSON.parse(text);
        const at = locate(text);
        for (const [pointer, v] of pointers(parsed)) {
          const { offset } = at(pointer);
          if (Array.isArray(v)) expect(text[offset]).toBe('[');
          else if (typeof v === 'object' && v !== null) expect(text[offset]).toBe('{');
          else expect(text.startsWith(JSON.stringify(v), offset)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
