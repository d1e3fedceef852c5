// The chains known without a config: generated data in `data/chain-catalog.json` (from viem's chain
// definitions; do not edit it by hand), loaded once here and typed. Read with a synchronous require
// of the JSON file, so the module works the same when imported and when `require`d.
import { createRequire } from 'node:module';

type CatalogEntry = readonly [chainId: number, name: string, testnet: 0 | 1];

interface CatalogFile {
  source: string;
  chains: CatalogEntry[];
}

// Relative to this module in `src/` and in `dist/` alike.
const catalog = createRequire(import.meta.url)('../data/chain-catalog.json') as CatalogFile;

/** Where the catalog came from, e.g. `viem@2.57.20`. */
export const CHAIN_CATALOG_SOURCE: string = catalog.source;

/** [chainId, file-safe name, 1 = testnet], by chainId. */
export const CHAIN_CATALOG: ReadonlyArray<CatalogEntry> = catalog.chains;
