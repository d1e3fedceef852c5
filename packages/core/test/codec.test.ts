import fc from 'fast-check';
import JSONbigFactory from 'json-bigint';
import { describe, expect, it } from 'vitest';
import {
  canonicalEncode,
  canonicalEncodeAll,
  ErrorCodes,
  isJsonNumber,
  JsonNumber,
  parseLossless,
  parseLosslessDocument,
  parseLosslessSlow,
  stringifyLossless,
  stringifyLosslessAll,
  generateRecords,
  type StateError,
} from '../src/index.js';
import { exactLiteral, inNumberModel, jsonText, jsonValue, MAX_SAFE, numberLiteral, objectOf, shape } from './arbitraries.js';
import { exactInteger } from './number-literal-property.js';
import { parseReference } from '../src/json-reference.js';
import { SEPARATOR } from '../src/print-together.js';

const RUNS = 3000;

function corrupted(text: string): StateError {
  try {
    parseLossless(text, { source: 'deployments/x.json' });
  } catch (error) {
    expect(error).toMatchObject({ code: ErrorCodes.CORRUPTED, file: 'deployments/x.json' });
    return error as StateError;
  }
  throw new Error(`expected CORRUPTED for ${JSON.stringify(text)}`);
}

describe('codec: the hard cases', () => {
  it('keeps integers beyond 2^53 exact as bigint, in both signs', () => {
    expect(parseLossless('18446744073709551617')).toBe(18446744073709551617n);
    expect(parseLossless('-9007199254740993')).toBe(-9007199254740993n);
    expect(parseLossless('9007199254740993')).toBe(9007199254740993n);
    expect(parseLossless('9007199254740992')).toBe(9007199254740992n);
    expect(parseLossless('9007199254740991')).toBe(9007199254740991);
    expect(stringifyLossless(parseLossless('[18446744073709551617,-9007199254740993]'))).toBe('[18446744073709551617,-9007199254740993]');
  });

  it('keeps a safe integer written with 16 characters a number', () => {
    expect(parseLossless('1234567890123456')).toBe(1234567890123456);
    expect(parseLossless('-1234567890123456')).toBe(-1234567890123456);
  });

  it('keeps 17-significant-digit floats and exponents exact', () => {
    expect(parseLossless('3.141592653589793')).toBe(Math.PI);
    expect(parseLossless('0.30000000000000004')).toBe(0.1 + 0.2);
    expect(parseLossless('1e-7')).toBe(1e-7);
    expect(parseLossless('[3.141592653589793, 12345678901234567890]')).toEqual([Math.PI, 12345678901234567890n]);
    expect(stringifyLossless(parseLossless('[0.30000000000000004,1e-7]'))).toBe('[0.30000000000000004,1e-7]');
  });

  it('keeps the text of every literal a double would change, and prints it back as written', () => {
    for (const literal of ['0.1000000000000000055511151231257827', '1.5e-400', '-1.5E-400', '1e400', '1E-7', '1.0', '2.50', '-0.0']) {
      const value = parseLossless(`[${literal}]`) as unknown[];
      expect(isJsonNumber(value[0])).toBe(true);
      expect((value[0] as JsonNumber).text).toBe(literal);
      expect(stringifyLossless(value)).toBe(`[${literal}]`);
      expect(canonicalEncode(value)).toBe(`[${literal}]`);
    }
    // Not the same state as the double it would round to.
    expect(canonicalEncode(parseLossless('0.1000000000000000055511151231257827'))).not.toBe(canonicalEncode(0.1));
    expect(canonicalEncode(parseLossless('1.5e-400'))).not.toBe(canonicalEncode(0));
  });

  it('parses an exponent literal with an integer value as a JsonNumber that gives the exact bigint', () => {
    for (const [literal, exact] of [
      ['1e21', 10n ** 21n],
      ['1e23', 10n ** 23n],
      ['-2.5e30', -25n * 10n ** 29n],
      ['1e400', 10n ** 400n],
      ['1.50e2', 150n],
    ] as const) {
      const value = parseLossless(literal) as JsonNumber;
      expect(value.text).toBe(literal);
      expect(value.isInteger()).toBe(true);
      expect(value.toBigInt()).toBe(exact);
      expect((parseLosslessSlow(literal) as JsonNumber).text).toBe(literal);
    }
    expect(parseLossless('{"a":"1e400 in a string","b":-1e400}')).toEqual({ a: '1e400 in a string', b: new JsonNumber('-1e400') });
    expect(() => new JsonNumber('0.1e').toBigInt()).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => new JsonNumber('1.5').toBigInt()).toThrow(RangeError);
    // Native JSON.stringify cannot print the bare literal: it prints the text as a string, never a rounded double.
    expect(JSON.stringify({ a: new JsonNumber('1e400') })).toBe('{"a":"1e400"}');
    expect(stringifyLossless({ a: new JsonNumber('1e400') })).toBe('{"a":1e400}');
  });

  it('finds a duplicated key with its line and column, on texts with and without exact literals', () => {
    for (const extra of ['', ', "x": 1e400']) {
      const text = `{\n  "a": 1,\n  "b": {"c": 1, "d": 2,\n    "c": 3}${extra}\n}`;
      const { value, duplicate } = parseLosslessDocument(text);
      expect(duplicate).toMatchObject({ key: 'c', pointer: '/b', position: { line: 4, column: 5 } });
      expect(value).toMatchObject({ a: 1, b: { c: 3, d: 2 } });
      expect(parseLosslessDocument(text.replace('"c": 3', '"e": 3')).duplicate).toBeUndefined();
    }
    // A colon inside a string is no key.
    expect(parseLosslessDocument('{"a":"x:y","b":["c:", "d"]}').duplicate).toBeUndefined();
  });

  it('finds a key written twice when its text holds no comma in a string (the commas alone decide)', () => {
    // Arrays and emptied containers beside the duplicate, and one dropped with its own commas: a
    // count that took an array's items or an empty container for a separator would miss these.
    for (const text of [
      '{"a":1,"a":2}',
      '{"a":1,"b":[1],"a":2}',
      '{"a":[1,2],"b":[],"c":{},"a":{"x":[3]}}',
      '{"a":{"b":1,"c":[2,3]},"a":3}',
      '[{"k":1},{"k":2,"k":3},[[]]]',
      '{\n  "a": [\n    1\n  ],\n  "b": {},\n  "b": {}\n}',
    ]) {
      const reference = parseReference(text).duplicate;
      expect(reference, text).toBeDefined();
      const { duplicate } = parseLosslessDocument(text);
      expect(duplicate && { key: duplicate.key, pointer: duplicate.pointer, offset: duplicate.position.offset }, text).toEqual(reference);
      // The same text without the second writing holds no duplicate.
      expect(parseLosslessDocument(JSON.stringify(JSON.parse(text))).duplicate, text).toBeUndefined();
    }
  });

  it('says a parse is plain only when no number in it is held exactly (no bigint, no JsonNumber)', () => {
    const exactIn = (value: unknown): boolean =>
      typeof value === 'bigint' ||
      isJsonNumber(value) ||
      (typeof value === 'object' && value !== null && Object.values(value).some((item) => exactIn(item)));
    let plain = 0;
    fc.assert(
      fc.property(jsonText, (text) => {
        const { value, plain: said } = parseLosslessDocument(text);
        // Plain is never said of a value holding an exact number. (A text whose only exact number is
        // overwritten by a duplicate key is not said plain either: nothing is lost but a walk.)
        if (said) expect(exactIn(value)).toBe(false);
        if (said) plain++;
        else if (!exactIn(value)) expect(parseLosslessDocument(text).duplicate).toBeDefined();
      }),
      { numRuns: RUNS },
    );
    // Both answers are tried: texts with and without exact numbers.
    expect(plain).toBeGreaterThan(RUNS / 20);
    expect(plain).toBeLessThan(RUNS - RUNS / 20);
    expect(parseLosslessDocument('{"a":[1,2],"b":"9007199254740993"}').plain).toBe(true);
    expect(parseLosslessDocument('{"a":[1,9007199254740993]}').plain).toBe(false);
    expect(parseLosslessDocument('{"a":1.50}').plain).toBe(false);
  });

  it('finds the same first duplicated key as the reference parser, colons in strings or not', () => {
    // Few keys, so objects often repeat one; strings with colons (and with written keys in them)
    // so the count of colons in the text overshoots the keys and the exact count must decide.
    // Commas in strings too, so the count of commas overshoots the separators and the colons decide.
    const key = fc.constantFrom('a', 'b', 'c', 'a:b', ':', 'x":"y', 'a,b', ',');
    const leaf = fc.oneof(
      fc.constantFrom('"x:y"', '"a\\":1"', '"https://rpc.example/v3/k"', '1', '1e400', 'true', '"\\"b\\":"', '"1,2"', '"a\\",\\"b"'),
      numberLiteral,
    );
    const text = fc.letrec<{ value: string }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
        fc
          .tuple(fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }), fc.constantFrom(':', ' : ', ':\n  ', '\t:', '\r\n :'))
          .map(([entries, colon]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}${colon}${v}`).join(', ')}}`),
      ),
    })).value;
    let duplicates = 0;
    fc.assert(
      fc.property(text, (written) => {
        const reference = parseReference(written).duplicate;
        const { duplicate } = parseLosslessDocument(written);
        expect(duplicate && { key: duplicate.key, pointer: duplicate.pointer, offset: duplicate.position.offset }).toEqual(reference);
        if (reference) duplicates++;
      }),
      { numRuns: RUNS },
    );
    // The property is about duplicates: a good share of the texts must hold one.
    expect(duplicates).toBeGreaterThan(RUNS / 10);
  });

  it('reads a literal whose fraction digits outnumber a negative exponent as the fraction it is', () => {
    // 100000.000000000000E-7 is 0.01: its 18 digits are scaled by 10^-19, not cut to the first 17.
    // Its text is not the double's shortest form, so it is kept as written (JsonNumber), worth 0.01.
    const value = parseLossless('100000.000000000000E-7');
    expect(isJsonNumber(value) && Number(value)).toBe(0.01);
    const [inArray, big] = parseLossless('[100000.000000000000E-7, 18446744073709551617]') as unknown[];
    expect(Number(inArray)).toBe(0.01);
    expect(stringifyLossless(inArray)).toBe('100000.000000000000E-7');
    expect(big).toBe(18446744073709551617n);
    expect(exactInteger('100000.000000000000E-7')).toBeNull();
    expect(exactInteger('1234.5600e2')).toBe(123456n);
    expect(exactInteger('-120e-1')).toBe(-12n);
    expect(exactInteger('1.5e400')).toBe(15n * 10n ** 399n);
  });

  it('keeps integers of hundreds of digits', () => {
    const huge = 7n ** 500n;
    expect(parseLossless(`{"v":${huge}}`)).toEqual({ v: huge });
    expect(parseLossless(`${-huge}`)).toBe(-huge);
  });

  it('keeps a non-integer beyond the range of a double as its text instead of Infinity', () => {
    for (const literal of [`${'1'.repeat(320)}.5`, `1.${'0'.repeat(400)}1e309`, '1.5e400']) {
      expect(stringifyLossless(parseLossless(`{"a":${literal}}`))).toBe(`{"a":${literal}}`);
    }
    corrupted(`[${'1'.repeat(100_001)}]`);
  });

  it('keeps -0 on the fast and on the exact path', () => {
    expect(Object.is(parseLossless('-0'), -0)).toBe(true);
    expect(Object.is(parseLosslessSlow('-0'), -0)).toBe(true);
    const both = parseLossless('[-0, -0.0000000000000000, 18446744073709551617]') as unknown[];
    expect(Object.is(both[0], -0)).toBe(true);
    expect(Object.is(Number(both[1]), -0)).toBe(true);
    expect(stringifyLossless(-0)).toBe('-0');
    expect(stringifyLossless({ a: [-0] })).toBe('{"a":[-0]}');
  });

  it('keeps strings that look like numbers strings', () => {
    expect(parseLossless('"12345678901234567890"')).toBe('12345678901234567890');
    expect(parseLossless('{"n":"-0","e":"1e400"}')).toEqual({ n: '-0', e: '1e400' });
    expect(stringifyLossless(['12345678901234567890'])).toBe('["12345678901234567890"]');
  });

  it('prints bigint as a bare literal and an unsafe integer double as its exact digits', () => {
    expect(stringifyLossless({ a: 2n ** 64n + 1n, b: 5n })).toBe('{"a":18446744073709551617,"b":5}');
    expect(stringifyLossless(1e23)).toBe(BigInt(1e23).toString());
    expect(parseLossless(stringifyLossless(1e23))).toBe(BigInt(1e23));
  });

  it('indents like JSON.stringify on both printers', () => {
    const plain = { a: [1, { b: 'x' }], c: {}, d: [] };
    expect(stringifyLossless(plain, 2)).toBe(JSON.stringify(plain, null, 2));
    const big = { a: [1, { b: 2n ** 70n }], c: {}, d: [] };
    expect(stringifyLossless(big, 2)).toBe(
      JSON.stringify({ a: [1, { b: 0 }], c: {}, d: [] }, null, 2).replace('"b": 0', `"b": ${2n ** 70n}`),
    );
  });

  it('refuses NaN and Infinity when printing', () => {
    expect(() => stringifyLossless({ a: Number.NaN })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
    expect(() => stringifyLossless([2n ** 64n, Number.POSITIVE_INFINITY])).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }),
    );
  });

  for (const bigSuffix of ['', ',"big":18446744073709551617']) {
    const path = bigSuffix ? 'exact path' : 'fast path';
    it(`treats constructor, __proto__ and constructorArgs as ordinary keys (${path})`, () => {
      const text = `{"constructor":{"x":1},"__proto__":{"polluted":true},"constructorArgs":[1,2],"toString":"s","nested":{"__proto__":[1]}${bigSuffix}}`;
      const value = parseLossless(text) as Record<string, unknown>;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: true });
      expect((value as { polluted?: unknown }).polluted).toBeUndefined();
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
      expect(value.constructorArgs).toEqual([1, 2]);
      expect(value.constructor).toEqual({ x: 1 });
      expect(value.toString).toBe('s');
      expect(Object.hasOwn(value.nested as object, '__proto__')).toBe(true);
      expect(stringifyLossless(value)).toBe(text);
    });
  }

  it('reports invalid JSON as CORRUPTED with line and column', () => {
    expect(corrupted('{\n  "a": 1,\n  "b": }\n').position).toMatchObject({ line: 3, column: 8 });
    expect(corrupted('{"a":}').position).toMatchObject({ line: 1, column: 6 });
    expect(corrupted('[1,2').position).toMatchObject({ line: 1, column: 5 });
    expect(corrupted('{"a":1}\n{"b":2}').position).toMatchObject({ line: 2, column: 1 });
    expect(corrupted('{"a": 18446744073709551617,}').position).toMatchObject({ line: 1 });
  });

  it('reports empty and blank text as CORRUPTED', () => {
    corrupted('');
    corrupted('  \n');
  });

  it('names a key rather than a file when the text came from a record key', () => {
    expect(() => parseLossless('{', { source: '56-Token', sourceIsKey: true })).toThrow(
      expect.objectContaining({ code: ErrorCodes.CORRUPTED, key: '56-Token' }),
    );
  });

  it('avoids each json-bigint pitfall that its options leave in place', () => {
    // These are why the codec configures and wraps json-bigint: each line fails on the library as is.
    expect(() => JSONbigFactory().parse('{"constructorArgs":[1]}')).toThrow();
    expect(() => JSONbigFactory({ useNativeBigInt: true }).parse('3.141592653589793')).toThrow();
    expect(typeof JSONbigFactory().parse('1234567890123456')).toBe('object');
    expect(() => JSONbigFactory().parse('1e400')).toThrow();
    expect(parseLossless('{"constructorArgs":[1]}')).toEqual({ constructorArgs: [1] });
    expect(parseLossless('[3.141592653589793, 18446744073709551617]')).toEqual([Math.PI, 18446744073709551617n]);
  });
});

describe('codec: properties', () => {
  it('round-trips every value: canonically equal, and typed by the number model', () => {
    fc.assert(
      fc.property(jsonValue, fc.constantFrom(undefined, 2), (value, indent) => {
        const back = parseLossless(stringifyLossless(value, indent));
        expect(canonicalEncode(back)).toBe(canonicalEncode(value));
        expect(shape(back)).toBe(shape(inNumberModel(value)));
      }),
      { numRuns: RUNS },
    );
  });

  it('parses every number literal by the number model and prints it back exactly as written', () => {
    fc.assert(
      fc.property(fc.oneof(numberLiteral, exactLiteral), (literal) => {
        const value = parseLossless(literal);
        const integer = exactInteger(literal);
        if (/^-?[0-9]+$/.test(literal) && integer !== null && (integer > MAX_SAFE || integer < -MAX_SAFE)) {
          expect(value).toBe(integer);
        } else if (typeof value === 'number') {
          expect(Object.is(value, Number(literal))).toBe(true);
        } else {
          expect(isJsonNumber(value) && value.text).toBe(literal);
          expect(Object.is(Number(value), Number(literal))).toBe(true);
          if (integer !== null && literal.length < 400) expect((value as JsonNumber).toBigInt()).toBe(integer);
        }
        expect(stringifyLossless(value)).toBe(literal);
        expect(stringifyLossless([value], 2)).toBe(`[\n  ${literal}\n]`);
        expect(shape(parseLosslessSlow(literal))).toBe(shape(value));
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps every literal of a text exactly as written through parse and print', () => {
    const literals = (text: string): string[] => text.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?[0-9][0-9.eE+-]*/g) ?? [];
    fc.assert(
      fc.property(jsonText, (text) => {
        // A duplicated key drops a value (the last one wins): that case is found, not kept.
        fc.pre(parseLosslessDocument(text).duplicate === undefined);
        // Sorted: an object's integer-like keys come first in JavaScript, whatever the text's order.
        expect(literals(stringifyLossless(parseLossless(text))).sort()).toEqual(literals(text).sort());
      }),
      { numRuns: RUNS },
    );
  });

  it('reads back any double exactly from 17 significant digits', () => {
    fc.assert(
      fc.property(fc.double({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1, noNaN: true }), (d) => {
        const literal = Object.is(d, -0) ? '-0' : d.toPrecision(17);
        expect(Object.is(Number(parseLossless(literal)), d)).toBe(true);
        // The same literal beside a 20-digit integer, so the exact path reads it.
        const [onExactPath] = parseLossless(`[${literal},${'9'.repeat(20)}]`) as unknown[];
        expect(Object.is(Number(onExactPath), d)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('reaches a fixpoint: printing what was parsed and parsing it again changes nothing', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const once = stringifyLossless(parseLossless(text));
        const twice = stringifyLossless(parseLossless(once));
        expect(twice).toBe(once);
        expect(canonicalEncode(parseLossless(once))).toBe(canonicalEncode(parseLossless(text)));
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same result on the fast path as the reference parser', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expect(shape(parseLossless(text))).toBe(shape(parseLosslessSlow(text)));
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the reference result whether or not the text holds a backslash (two scans)', () => {
    // A text without a backslash takes the scan that reads a string as quote-to-quote; the same
    // text with one escaped string in it takes the scan that follows escapes. Both must be exact.
    fc.assert(
      fc.property(jsonText, fc.constantFrom('"\\\\"', '"\\""', '"\\u0031"'), (text, escaped) => {
        for (const variant of [`[${text}]`, `[${text},${escaped}]`, `[${escaped},${text}]`]) {
          expect(shape(parseLossless(variant))).toBe(shape(parseLosslessSlow(variant)));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps literal-looking text inside strings a string, escaped quotes and all', () => {
    // Strings built to defeat a scan that loses track of where a string ends: escaped quotes and
    // backslashes next to text a double would change, in value positions of the string's content.
    const fragment = fc.constantFrom(
      '\\"',
      '\\\\',
      '\\\\\\"',
      ', 1.0',
      ': 1e400',
      '[18446744073709551617',
      ' 0.1000000000000000055511151231257827 ',
      ',',
      ']',
      '}',
      ' ',
    );
    const trap = fc.array(fragment, { minLength: 1, maxLength: 8 }).map((parts) => `"${parts.join('')}"`);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(trap, exactLiteral, numberLiteral), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(',', ', ', ',\n  '),
        (items, sep) => {
          const text = `[${items.join(sep)}]`;
          const parsed = parseLossless(text);
          expect(shape(parsed)).toBe(shape(parseLosslessSlow(text)));
          // Every string item comes back as the string JSON.parse reads.
          items.forEach((item, i) => {
            if (item.startsWith('"')) expect((parsed as unknown[])[i]).toBe(JSON.parse(item));
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('equals native JSON.parse on texts whose every literal is a safe double in its shortest form', () => {
    const plain = jsonText.filter((t) =>
      (t.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?[0-9][0-9.eE+-]*/g) ?? []).every(
        (l) => (String(Number(l)) === l || l === '-0') && Math.abs(Number(l)) <= Number.MAX_SAFE_INTEGER,
      ),
    );
    fc.assert(
      fc.property(plain, (text) => {
        const native = JSON.parse(text) as unknown;
        expect(shape(parseLossless(text))).toBe(shape(native));
        expect(shape(parseLosslessSlow(text))).toBe(shape(native));
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws on valid JSON from values, and always CORRUPTED on broken text', () => {
    let brokenSeen = 0;
    fc.assert(
      fc.property(jsonValue, fc.nat(), (value, cut) => {
        const text = stringifyLossless(value);
        expect(() => parseLossless(text)).not.toThrow();
        fc.pre(text.length > 1);
        const broken = text.slice(0, cut % (text.length - 1)) + (text.startsWith('"') ? '' : '}');
        let parsedOk = true;
        try {
          JSON.parse(broken);
        } catch {
          parsedOk = false;
        }
        if (parsedOk) {
          // A cut that still is JSON (e.g. "{}") must parse here too.
          expect(() => parseLossless(broken)).not.toThrow();
          return;
        }
        brokenSeen++;
        expect(() => parseLossless(broken)).toThrow(expect.objectContaining({ code: ErrorCodes.CORRUPTED }));
      }),
      { numRuns: 1000 },
    );
    // The CORRUPTED branch is the point of the property: most cuts must reach it.
    expect(brokenSeen).toBeGreaterThan(500);
  });

  it("keeps an object's own keys, __proto__ included, through a round trip", () => {
    const value = objectOf([
      ['__proto__', { a: 2n ** 64n }],
      ['constructor', 1],
      ['z', -0],
    ]);
    const back = parseLossless(stringifyLossless(value)) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'constructor', 'z']);
    expect(shape(back)).toBe(shape(value));
  });
});

describe('codec: printing many values at once', () => {
  it('prints each value as stringifyLossless prints it alone, whatever the mix', () => {
    fc.assert(
      fc.property(fc.array(jsonValue, { maxLength: 40 }), (values) => {
        expect(stringifyLosslessAll(values)).toEqual(values.map((v) => stringifyLossless(v)));
      }),
      { numRuns: RUNS },
    );
  });

  it('prints records in runs past one call, exact numbers and marker look-alikes among them', () => {
    const records: unknown[] = generateRecords(600);
    // Within the runs: a record with a bigint, one with -0, one whose string looks like the marker, a string, null.
    records.splice(10, 0, { ...generateRecords(1)[0], big: 2n ** 70n });
    records.splice(300, 0, { a: -0 }, { a: ',"\u0000print-together-x#",' }, '\u0000print-together-x#', null);
    records.splice(520, 0, { a: new JsonNumber('1.50') }, [1, { b: 2 }]);
    expect(stringifyLosslessAll(records)).toEqual(records.map((v) => stringifyLossless(v)));
    expect(stringifyLosslessAll([])).toEqual([]);
  });

  it('prints alone the run in which a value holds the marker itself, and still prints each exactly', () => {
    // In an array the marker prints between commas, as it does between two values of a run.
    const records: unknown[] = generateRecords(300);
    records.splice(100, 0, { a: ['x', SEPARATOR, 'y'] }, ['x', SEPARATOR, 'y']);
    expect(stringifyLosslessAll(records)).toEqual(records.map((v) => stringifyLossless(v)));
    expect(canonicalEncodeAll(records)).toEqual(records.map((v) => canonicalEncode(v)));
  });
});

describe('codec: printing bigints and JsonNumbers through native JSON.stringify', () => {
  it('prints each literal bare and byte-exact, next to strings, in arrays and objects, at any indent', () => {
    const leaf = fc.oneof(
      fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
      exactLiteral.map((text) => new JsonNumber(text)),
      numberLiteral.filter((t) => !/^-?[0-9]+$/.test(t)).map((text) => new JsonNumber(text)),
      fc.string({ maxLength: 12 }),
      fc.maxSafeInteger(),
    );
    const text = (v: unknown): string =>
      typeof v === 'bigint' ? v.toString() : v instanceof JsonNumber ? v.text : JSON.stringify(v);
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 8 }), fc.constantFrom(undefined, 2), (items, indent) => {
        // The expected text, built by hand: native layout with each literal as written.
        const inner = indent ? items.map((v) => `\n  ${text(v)}`).join(',') : items.map(text).join(',');
        const expected = items.length === 0 ? '[]' : indent ? `[${inner}\n]` : `[${inner}]`;
        expect(stringifyLossless(items, indent)).toBe(expected);
        expect(stringifyLossless({ k: items }, indent)).toBe(indent ? `{\n  "k": ${expected.replace(/\n/g, '\n  ')}\n}` : `{"k":${expected}}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('leaves BigInt.prototype.toJSON as it found it, and a string that looks like a mark as a string', () => {
    expect(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON')).toBeUndefined();
    expect(stringifyLossless([1n, 2n ** 64n])).toBe('[1,18446744073709551616]');
    expect(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON')).toBeUndefined();
    const own = function (this: bigint): string {
      return `big:${this.toString()}`;
    };
    Object.defineProperty(BigInt.prototype, 'toJSON', { value: own, configurable: true, writable: true });
    try {
      expect(stringifyLossless([2n ** 64n])).toBe('[18446744073709551616]');
      expect(Object.getOwnPropertyDescriptor(BigInt.prototype, 'toJSON')?.value).toBe(own);
    } finally {
      delete (BigInt.prototype as { toJSON?: unknown }).toJSON;
    }
    const lookalike = '\u0000print-abc#12';
    expect(parseLossless(stringifyLossless([lookalike, 2n ** 64n]))).toEqual([lookalike, 2n ** 64n]);
  });
});
