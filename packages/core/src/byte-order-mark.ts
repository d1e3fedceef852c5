// A UTF-8 byte-order mark, as some Windows editors save one at the start of a JSON file: every
// reader of the project's files reads past it, and every rewrite keeps it, so git shows only the
// change the rewrite meant.
export const BYTE_ORDER_MARK = '\uFEFF';

/** `text` without a leading byte-order mark. */
export function withoutByteOrderMark(text: string): string {
  return text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
}

/** `text` to write over a file that held `previous`: with a byte-order mark when `previous` started with one. */
export function keepingByteOrderMark(previous: string | null | undefined, text: string): string {
  return previous?.startsWith(BYTE_ORDER_MARK) ? `${BYTE_ORDER_MARK}${text}` : text;
}
