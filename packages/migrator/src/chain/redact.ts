// Endpoints often carry credentials (https://user:pass@host, /v3/<api key>, ?apikey=...). Nothing
// this module's callers print or store may hold them, so every endpoint goes through here first.
//
// The rule (documented in the README):
// - userinfo (`user:password@`) becomes `***@`;
// - every query-string value becomes `***` (names stay, so `?apikey=***` still says what it was);
// - a fragment becomes `#***`;
// - a path segment that looks like a key becomes `***`: 16 or more characters of letters, digits,
//   `_` or `-` that include a digit or an upper-case letter (so `/v3/9aa3d95b3bc440fa88ea12eaa4456161`
//   and `/v2/AbCdEf...` are hidden, while `/bsc-testnet-archive` or `/rpc` stay readable).

const KEY_LIKE = /^[A-Za-z0-9_-]{16,}$/;
const HAS_DIGIT_OR_UPPER = /[0-9A-Z]/;

export function looksLikeKey(segment: string): boolean {
  return KEY_LIKE.test(segment) && HAS_DIGIT_OR_UPPER.test(segment);
}

/** The endpoint as it may be printed. A string that is not a URL is hidden entirely. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[unparseable endpoint]';
  }
  const userinfo = url.username !== '' || url.password !== '' ? '***@' : '';
  const path = url.pathname
    .split('/')
    .map((segment) => (looksLikeKey(decodeSafely(segment)) ? '***' : segment))
    .join('/');
  const query = [...url.searchParams.keys()].map((name) => `${encodeURIComponent(name)}=***`).join('&');
  return `${url.protocol}//${userinfo}${url.host}${path}${query ? `?${query}` : ''}${url.hash ? '#***' : ''}`;
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Replaces every endpoint in `text` by its redacted form, then hides any other `scheme://user:pass@`
 * that a library may have put into a message. Used on every error message that reaches a report.
 */
export function redactText(text: string, endpoints: Iterable<string>): string {
  let out = text;
  const variants = new Map<string, string>();
  for (const raw of endpoints) {
    const redacted = redactUrl(raw);
    variants.set(raw, redacted);
    try {
      variants.set(new URL(raw).href, redacted);
    } catch {
      // Not a URL: the raw form is all there is to hide.
    }
  }
  // Longest first, so a URL is never half-replaced by a shorter variant of itself.
  for (const [raw, redacted] of [...variants].sort((a, b) => b[0].length - a[0].length)) out = out.split(raw).join(redacted);
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}
