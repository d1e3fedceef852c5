// Generates data/chain-catalog.json (loaded by src/chain-catalog.ts) from viem's chain definitions
// (a complete, maintained list), so core names every chain without depending on viem. Run it after updating viem, and commit the
// result: `node packages/core/scripts/generate-chain-catalog.mjs`.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// viem is installed for the migrator (verify-chain); core only reads the generated data.
const require = createRequire(new URL('../../migrator/package.json', import.meta.url));
const viemPackage = require('viem/package.json');
const chains = await import(pathToFileURL(require.resolve('viem/chains')).href);

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const byId = new Map();
for (const [exportName, chain] of Object.entries(chains)) {
  if (!chain || typeof chain !== 'object' || !Number.isSafeInteger(chain.id)) continue;
  const name = exportName.toLowerCase();
  if (!NAME.test(name) || name.startsWith('chain-')) continue;
  const list = byId.get(chain.id) ?? [];
  list.push({ name, testnet: chain.testnet === true });
  byId.set(chain.id, list);
}

const rows = [];
let ambiguous = 0;
for (const [id, list] of [...byId].sort((a, b) => a[0] - b[0])) {
  // One id claimed by a mainnet and a testnet (id reuse across unrelated chains): nobody can say
  // which it is, so it stays chain-<id>.
  if (new Set(list.map((c) => c.testnet)).size > 1) {
    ambiguous++;
    continue;
  }
  const [pick] = [...list].sort((a, b) => a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
  rows.push(`    ${JSON.stringify([id, pick.name, pick.testnet ? 1 : 0])}`);
}

// One chain per line, so an update reads as a diff of chains.
const about = `Generated from viem ${viemPackage.version}'s chain definitions; do not edit by hand. chains: [chainId, file-safe name, 1 = testnet]; ${rows.length} chains; ${ambiguous} ids claimed by both a mainnet and a testnet are left out.`;
const out = `{\n  "about": ${JSON.stringify(about)},\n  "source": ${JSON.stringify(`viem@${viemPackage.version}`)},\n  "chains": [\n${rows.join(',\n')}\n  ]\n}\n`;
const target = fileURLToPath(new URL('../data/chain-catalog.json', import.meta.url));
writeFileSync(target, out);
console.log(`wrote ${target}: ${rows.length} chains (${ambiguous} ambiguous ids left out)`);
