// Chain verification: the inventory checked against the chains themselves (issue 9).
export * from './types.js';
export { verifyChain, EIP1967_IMPLEMENTATION_SLOT, CHAIN_DEFAULTS } from './verify-chain.js';
export { runtimeCodeHash, metadataLength, zeroAddress, type RuntimeHash } from './bytecode.js';
export { redactUrl, redactText, looksLikeKey, isPublicRoute } from './redact.js';
export { resolveEndpoints, type EndpointSources } from './endpoints.js';
export { formatChainReport, chainReportJson, allEndpointsUnavailable, assertSomeEndpointReachable } from './format.js';
