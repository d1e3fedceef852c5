// Where RPC endpoints come from: `--rpc <chainId>=<url>` (repeatable), the config file's `rpc`
// map, and `RPC_URL_<chainId>` in the environment. Precedence: the command line, then the
// environment, then the config file (a secret kept in the environment overrides a committed file).
import { ErrorCodes, StateError } from '@deploystate/core';
import { redactUrl } from './redact.js';

export interface EndpointSources {
  /** Values of `--rpc`, each `<chainId>=<url>`. */
  flags?: readonly string[];
  /** The config file's `rpc` value: `{ "<chainId>": "<url>" }`. */
  config?: unknown;
  /** The file the config came from, named in errors. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

function chainIdOf(text: string, where: string, file?: string): number {
  const chainId = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(chainId)) {
    throw new StateError(
      file ? ErrorCodes.INVALID_CONFIG : ErrorCodes.INVALID_ARGUMENT,
      `${where}: chain id ${JSON.stringify(text)} is not a non-negative integer`,
      file ? { file } : {},
    );
  }
  return chainId;
}

function urlOf(text: string, where: string, file?: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    // The value may be a secret: name where it came from, never echo it.
    throw new StateError(
      file ? ErrorCodes.INVALID_CONFIG : ErrorCodes.INVALID_ARGUMENT,
      `${where}: not a URL`,
      file ? { file, hint: 'expected http(s)://host[:port][/path]' } : { hint: 'expected http(s)://host[:port][/path]' },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StateError(
      file ? ErrorCodes.INVALID_CONFIG : ErrorCodes.INVALID_ARGUMENT,
      `${where}: ${redactUrl(text)} is not an http(s) URL`,
      file ? { file } : {},
    );
  }
  return text.trim();
}

/** chainId -> URL from every source, highest precedence winning per chain. */
export function resolveEndpoints(sources: EndpointSources): Record<number, string> {
  const rpc: Record<number, string> = {};
  const config = sources.config;
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object' || Array.isArray(config)) {
      throw new StateError(
        ErrorCodes.INVALID_CONFIG,
        'rpc must be an object { "<chainId>": "<url>" }',
        sources.configFile ? { file: sources.configFile } : {},
      );
    }
    for (const [id, value] of Object.entries(config as Record<string, unknown>)) {
      const chainId = chainIdOf(id, `rpc["${id}"]`, sources.configFile ?? 'config');
      if (typeof value !== 'string')
        throw new StateError(
          ErrorCodes.INVALID_CONFIG,
          `rpc["${id}"] must be a URL string`,
          sources.configFile ? { file: sources.configFile } : {},
        );
      rpc[chainId] = urlOf(value, `rpc["${id}"]`, sources.configFile ?? 'config');
    }
  }
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    const match = /^RPC_URL_(\d+)$/.exec(name);
    if (!match || value === undefined || value.trim() === '') continue;
    rpc[chainIdOf(match[1] as string, name)] = urlOf(value, name);
  }
  for (const flag of sources.flags ?? []) {
    const at = flag.indexOf('=');
    if (at <= 0)
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, '--rpc expects <chainId>=<url>', {
        hint: '--rpc 97=https://data-seed-prebsc-1-s1.bnbchain.org:8545',
      });
    rpc[chainIdOf(flag.slice(0, at), '--rpc')] = urlOf(flag.slice(at + 1), `--rpc ${flag.slice(0, at)}=`);
  }
  return rpc;
}
