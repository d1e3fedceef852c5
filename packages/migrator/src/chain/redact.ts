// Endpoints often carry credentials (https://user:pass@host, /v3/<api key>, ?apikey=...). Nothing
// this module's callers print or store may hold them, so every endpoint goes through here first.
//
// The rule (documented in the README):
// - userinfo (`user:password@`) becomes `***@`;
// - every query-string value becomes `***` (names stay, so `?apikey=***` still says what it was);
// - a fragment becomes `#***`;
// - every path segment becomes `***` unless it is a known public route: a word from ROUTE_WORDS
//   (`rpc`, `v3`, `ext`, `bc`, `C`, network names...), or such words joined by `-` or `_`
//   (`bsc-testnet-archive`). A key of any length is hidden: `/v3/9aa3d95b3bc44`, `/abcdefghijklm`.

const ROUTE_WORDS = new Set(
  [
    'api', 'archive', 'bc', 'c', 'chain', 'dataseed', 'dev', 'devnet', 'eth', 'evm', 'ext', 'full', 'http', 'https',
    'json', 'jsonrpc', 'main', 'mainnet', 'network', 'node', 'nodes', 'public', 'rpc', 'test', 'testnet', 'v1', 'v2',
    'v3', 'v4', 'ws', 'wss', 'amoy', 'arb', 'arbitrum', 'avalanche', 'avax', 'base', 'binance', 'blast', 'bnb', 'bsc',
    'bscmainnet', 'bsctestnet', 'celo', 'emerald', 'ethereum', 'fantom', 'ftm', 'gnosis', 'goerli', 'hardhat',
    'holesky', 'linea', 'mantle', 'matic', 'moonbeam', 'mumbai', 'nova', 'oasis', 'op', 'optimism', 'polygon', 'sapphire',
    'scroll', 'sepolia', 'zksync', 'localhost', 'one', 'opbnb', 'xdai', 'era',
  ],
);

/** Whether a path segment is a known public route (kept as written); any other segment is hidden. */
export function isPublicRoute(segment: string): boolean {
  if (segment === '') return true;
  return segment
    .toLowerCase()
    .split(/[-_]/)
    .every((word) => ROUTE_WORDS.has(word));
}

/** Whether a path segment may carry a credential: anything that is not a known public route. */
export function looksLikeKey(segment: string): boolean {
  return !isPublicRoute(segment);
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
