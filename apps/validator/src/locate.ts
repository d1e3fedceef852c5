// Maps JSON pointers to line and column. ajv reports where a problem is as a pointer only; people
// and editors need a position, so this scans the text once and records where each value starts.
// It never converts numbers, so big literals cost nothing and lose nothing.

export interface Position {
  /** 1-based line. */
  line: number;
  /** 1-based column, in UTF-16 code units from the start of the line. */
  column: number;
  /** 0-based character offset of the value's first character. */
  offset: number;
}

export type Locator = (pointer: string) => Position;

/** Escapes one pointer segment (RFC 6901). */
export function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A pointer from unescaped segments. */
export function pointerOf(...segments: Array<string | number>): string {
  let out = '';
  for (const segment of segments) out += `/${escapePointerSegment(String(segment))}`;
  return out;
}

/** The parent of a pointer ('' is the root and its own parent). */
export function parentPointer(pointer: string): string {
  const cut = pointer.lastIndexOf('/');
  return cut <= 0 ? '' : pointer.slice(0, cut);
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Scans JSON text and returns a function from pointer to the position where that value starts.
 * A pointer to a value that is not there resolves to its nearest existing ancestor (ajv points at
 * the object when a property is missing). Text that is not valid JSON is indexed up to the
 * error; everything later resolves to what was reached.
 */
export function locate(text: string): Locator {
  let index: Map<string, number> | undefined;
  let lineStarts: number[] | undefined;
  return (pointer: string): Position => {
    index ??= indexValues(text);
    lineStarts ??= lineStartsOf(text);
    let current = pointer;
    let offset = index.get(current);
    while (offset === undefined && current !== '') {
      current = parentPointer(current);
      offset = index.get(current);
    }
    return positionAt(lineStarts, offset ?? 0);
  };
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function positionAt(lineStarts: number[], offset: number): Position {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((lineStarts[mid] as number) <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - (lineStarts[low] as number) + 1, offset };
}

// One open container on the explicit stack (no recursion: deep nesting must not overflow).
interface Frame {
  kind: 'object' | 'array';
  pointer: string;
  /** Next array index. */
  count: number;
}

class ScanError extends Error {}

/** Every value's start offset, keyed by pointer. Stops quietly at the first syntax error. */
function indexValues(text: string): Map<string, number> {
  const index = new Map<string, number>();
  // A byte-order mark before the document is read past, as the parse does (else every value is 1:1).
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;

  const skipWhitespace = (): void => {
    while (i < n && WHITESPACE.has(text.charCodeAt(i))) i++;
  };
  const expect = (char: string): void => {
    if (text[i] !== char) throw new ScanError(`expected ${char} at ${i}`);
    i++;
  };
  const readString = (): string => {
    expect('"');
    let out = '';
    let chunkStart = i;
    for (;;) {
      if (i >= n) throw new ScanError('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(chunkStart, i);
        i++;
        return out;
      }
      if (c < 0x20) throw new ScanError('control character in string');
      if (c === 0x5c) {
        out += text.slice(chunkStart, i);
        const e = text[i + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ScanError('bad unicode escape');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            throw new ScanError('bad escape');
        }
        i += 2;
        chunkStart = i;
        continue;
      }
      i++;
    }
  };
  const readNumber = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
    else throw new ScanError('bad number');
    if (text[i] === '.') {
      i++;
      if (!isDigit(text.charCodeAt(i))) throw new ScanError('bad fraction');
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!isDigit(text.charCodeAt(i))) throw new ScanError('bad exponent');
      while (isDigit(text.charCodeAt(i))) i++;
    }
  };
  const readLiteral = (word: string): void => {
    if (!text.startsWith(word, i)) throw new ScanError(`expected ${word}`);
    i += word.length;
  };

  const stack: Frame[] = [];
  // Reads the value at `i` for `pointer`; a container is pushed and filled by the loop below.
  const readValue = (pointer: string): void => {
    skipWhitespace();
    index.set(pointer, i);
    const c = text[i];
    if (c === '{') {
      i++;
      stack.push({ kind: 'object', pointer, count: 0 });
    } else if (c === '[') {
      i++;
      stack.push({ kind: 'array', pointer, count: 0 });
    } else if (c === '"') readString();
    else if (c === 't') readLiteral('true');
    else if (c === 'f') readLiteral('false');
    else if (c === 'n') readLiteral('null');
    else readNumber();
  };

  try {
    readValue('');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as Frame;
      skipWhitespace();
      const closer = frame.kind === 'object' ? '}' : ']';
      if (text[i] === closer) {
        i++;
        stack.pop();
        continue;
      }
      if (frame.count > 0) expect(',');
      frame.count++;
      skipWhitespace();
      if (frame.kind === 'object') {
        const key = readString();
        skipWhitespace();
        expect(':');
        readValue(`${frame.pointer}/${escapePointerSegment(key)}`);
      } else {
        readValue(`${frame.pointer}/${frame.count - 1}`);
      }
    }
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
  }
  return index;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
