// The command table: names, options and examples only, so `--help` and `--version` load nothing
// else. Each command's code lives in src/commands/<module>.ts and is imported when it runs. No
// import of cac here: the table is part of the package's API, and its types must resolve for a
// consumer that cannot resolve cac's (a CommonJS project on `moduleResolution: node10`).

export interface CommandSpec {
  /** cac's raw name, with its arguments: `dual-write <action>`. */
  usage: string;
  module: string;
  description: string;
  options?: Array<[flags: string, description: string, config?: { default?: unknown }]>;
  examples: string[];
}

// Endpoints and request limits for checks against the chains (verify-chain, and --chain).
const CHAIN_FLAGS: NonNullable<CommandSpec['options']> = [
  ['--rpc <chainIdEqUrl>', 'RPC endpoint for a chain, <chainId>=<url> (repeatable; also "rpc" in the config file, or RPC_URL_<chainId>)'],
  ['--timeout <ms>', 'Per-request timeout for RPC calls (default 10000)'],
  ['--retries <n>', 'Retries per RPC request, with exponential backoff (default 2)'],
  ['--concurrency <n>', 'RPC requests in flight per endpoint (default 4)'],
];
// Which store a command reads (export) or writes (import).
const sideFlag = (flag: '--from' | '--to'): NonNullable<CommandSpec['options']>[number] => [
  `${flag} <side>`,
  'leveldb | json',
  { default: 'leveldb' },
];
const CHAIN_OPTION: NonNullable<CommandSpec['options']>[number] = [
  '--chain',
  'Also check the records against the chains (see verify-chain)',
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    usage: 'analyze',
    module: 'analyze',
    description: 'Inventory of the LevelDB store: chains, contracts, findings, big numbers (read-only)',
    options: [
      ['--snapshot', 'Read a consistent copy of a LevelDB that another process holds open'],
      ['--expected <file>', 'Cross-check against an expected-inventory JSON file'],
      ['--scripts <dir>', 'Scan this folder for direct writes to deployments/*.json (repeatable; default: scripts, deploy, tasks)'],
      CHAIN_OPTION,
      ...CHAIN_FLAGS,
    ],
    examples: ['deploystate analyze', 'deploystate analyze --snapshot --json > inventory.json'],
  },
  {
    usage: 'check',
    module: 'check',
    description: 'Integrity of the stored data and big-number precision (read-only; exit 1 on failure)',
    options: [['--precision', 'Only the big-number audit and the lossless round trip']],
    examples: ['deploystate check', 'deploystate check --precision'],
  },
  {
    usage: 'init',
    module: 'init',
    description: 'Write deploystate.config.json and the state folder; --scripts adds the runbook npm scripts',
    options: [['--scripts', "Add the runbook's npm scripts to ./package.json (shows the change, asks first)"]],
    examples: ['deploystate init', 'deploystate init --scripts', 'deploystate init --scripts --yes'],
  },
  {
    usage: 'dual-write <action>',
    module: 'dual-write',
    description: 'enable | disable | verify writing to both stores (LevelDB stays primary)',
    examples: ['deploystate dual-write enable', 'deploystate dual-write verify --json', 'deploystate dual-write disable'],
  },
  {
    usage: 'migrate',
    module: 'migrate',
    description: 'Bulk copy LevelDB -> JSON (only the copy); --demo runs every phase on a fresh sample',
    options: [
      ['--dry-run', 'Show what the copy would write, change nothing'],
      ['--resume', 'Continue an interrupted copy after its last finished network file'],
      ['--batch-size <n>', 'Records written per batch'],
      ['--exclude <key>', 'Leave a record out, by key `<chainId>-<contractName>` (repeatable)'],
      ['--demo [dir]', 'Run every phase, end to end, on a fresh sample (in <dir> or a new temp folder)'],
    ],
    examples: [
      'deploystate migrate --demo',
      'deploystate migrate --dry-run',
      'deploystate migrate --exclude 31337-LookCoin --exclude 31337-TestToken',
      'deploystate migrate --resume --batch-size 500',
    ],
  },
  {
    usage: 'promote',
    module: 'promote',
    description: 'dual-write -> json-primary: JSON becomes the primary (needs a clean verify after the copy)',
    examples: ['deploystate promote'],
  },
  {
    usage: 'status',
    module: 'status',
    description: 'The migration phase, which store reads and writes, and what can run next',
    options: [
      ['--expect <phase>', 'Exit 1 unless the phase is this one (leveldb-only, dual-write, json-primary, json-only)'],
      ['--probe', "Open the deploy scripts' store (the factory) and read through it"],
    ],
    examples: ['deploystate status', 'deploystate status --json', 'deploystate status --expect json-only --probe'],
  },
  {
    usage: 'monitor',
    module: 'monitor',
    description: 'Live progress of a copy running in another terminal',
    options: [
      ['--once', 'Print the current progress once and exit'],
      ['--interval <ms>', 'Polling interval', { default: 1000 }],
    ],
    examples: ['deploystate monitor', 'deploystate monitor --once --json'],
  },
  {
    usage: 'compare',
    module: 'compare',
    description: 'LevelDB vs JSON, record by record, with entries either side cannot read (read-only; exit 1 when they differ)',
    options: [
      ['--limit <n>', 'Differences listed in the text output', { default: 20 }],
      ['--max-details <n>', 'Differences listed in all, --json included (default 1000; the counts are always exact)'],
    ],
    examples: ['deploystate compare', 'deploystate compare --json > diff.json', 'deploystate compare --json --max-details 100000 > diff.json'],
  },
  {
    usage: 'verify',
    module: 'verify',
    description: 'compare + schema validation, recorded as evidence for promote and cutover (exit 1 unless clean)',
    options: [CHAIN_OPTION, ...CHAIN_FLAGS],
    examples: ['deploystate verify', 'deploystate verify --json', 'deploystate verify --chain --rpc 97=https://bsc-testnet.example'],
  },
  {
    usage: 'verify-chain',
    module: 'verify-chain',
    description:
      'Check the records against the chains: chain id, code at proxy and implementation, EIP-1967 slot, runtime hash (read-only; exit 1 on errors)',
    options: [['--from <side>', 'leveldb | json (default: the side deploy scripts read in the current phase)'], ...CHAIN_FLAGS],
    examples: [
      'deploystate verify-chain --rpc 97=https://data-seed-prebsc-1-s1.bnbchain.org:8545',
      'RPC_URL_56=https://bsc.example deploystate verify-chain --json',
    ],
  },
  {
    usage: 'cutover',
    module: 'cutover',
    description: 'json-primary -> json-only (needs a fresh clean verify; optional soak)',
    options: [
      ['--acknowledge <codeOrKey>', 'Accept a pre-existing finding by code or key (repeatable)'],
      ['--soak <n>', 'Require n consecutive clean verifies first'],
      ['--soak-interval <ms>', 'Time between soak verifies', { default: 1000 }],
      ['--dry-run', 'Check every gate, change nothing (the pre-cut-over validation)'],
      ['--chain', 'Also require the JSON records to check out against the chains (see verify-chain)'],
      ...CHAIN_FLAGS,
    ],
    examples: [
      'deploystate cutover --dry-run',
      'deploystate cutover --soak 3 --soak-interval 5000',
      'deploystate cutover --acknowledge DEV_CHAIN --yes',
    ],
  },
  {
    usage: 'rollback',
    module: 'rollback',
    description: 'Back to leveldb-only, replaying every journalled write into LevelDB',
    options: [
      ['--emergency', 'Skip the gates (never the carry-back); also when EMERGENCY_ROLLBACK=true'],
      ['--ready', 'Only check rollback readiness (exit 1 when not ready)'],
      ['--dry-run', 'Show what would be replayed, change nothing'],
      ['--acknowledge <file>', 'A network file (or chain id) that is gone on purpose: its chain\'s LevelDB records go too (repeatable)'],
    ],
    examples: ['deploystate rollback --ready', 'deploystate rollback', 'EMERGENCY_ROLLBACK=true deploystate rollback --yes', 'deploystate rollback --dry-run --acknowledge basesepolia.json'],
  },
  {
    usage: 'exclude <...keys>',
    module: 'exclude',
    description: 'Record keys the migration leaves behind (dev-chain junk analyze proposes) in the config',
    examples: ['deploystate exclude 31337-TestToken 31337-LookCoin'],
  },
  {
    usage: 'acknowledge <key> <code>',
    module: 'acknowledge',
    description: "Accept one finding on one record as it is now (recorded in the config with the record's digest)",
    options: [['--note <text>', 'Why, in your words (kept with the acknowledgement)']],
    examples: ['deploystate acknowledge 56-FeeManager MISSING_IMPLEMENTATION_HASH --note "proxy predates hashes"'],
  },
  {
    usage: 'rename-network <chainId> <name>',
    module: 'rename-network',
    description: "Rename a chain's state file (a backup first) and record the name in the config; nothing else ever renames one",
    examples: ['deploystate rename-network 137 polygonmainnet --yes'],
  },
  {
    usage: 'fold-in',
    module: 'fold-in',
    description: "json-only: bring LevelDB's changes since cut-over (a clone that wrote before it pulled) into the JSON files",
    options: [
      ['--from <leveldb>', 'Read the changes from another copy of the LevelDB folder (default: this one)'],
      ['--dry-run', 'List what would be folded in, change nothing'],
    ],
    examples: ['deploystate fold-in --dry-run', 'deploystate fold-in --from ../teammate/leveldb --yes'],
  },
  {
    usage: 'report',
    module: 'report',
    description: 'Write the migration report (Markdown and JSON) and print its summary',
    examples: ['deploystate report', 'deploystate report --json'],
  },
  {
    usage: 'validate',
    module: 'validate',
    description: 'Check deployments/*.json against the published schema and across files (exit 1 on errors)',
    options: [
      ['--format <format>', 'text | json | github (human: same as text)'],
      ['--verbose', 'Also list info findings (text and github formats)'],
      ['--staged', "Judge what git's index holds (a pre-commit hook): every state file as staged, so cross-file checks see one snapshot"],
    ],
    examples: [
      'deploystate validate',
      'deploystate validate --verbose',
      'deploystate validate --staged',
      'deploystate validate --deployments ./deployments --json',
    ],
  },
  {
    usage: 'merge-file <base> <ours> <theirs> [path]',
    module: 'merge-file',
    description: "git's merge driver for deployments/*.json: merges by record, exit 1 on a conflict (see init)",
    examples: ['git config merge.deploystate.driver "npx deploystate merge-file %O %A %B %P"'],
  },
  {
    usage: 'merge-resolve [file]',
    module: 'merge-resolve',
    description: 'Finish a merge the driver left with conflicts: list both versions, pick one per record',
    options: [
      ['--pick <nameEqSide>', 'Take one version of a conflicting record or key: <name>=ours|theirs|base (repeatable)'],
      ['--all <side>', 'Take this side (ours | theirs | base) for every conflict not picked'],
      ['--chain', 'Check both versions of each conflicting record against its chain (see verify-chain)'],
      ...CHAIN_FLAGS,
    ],
    examples: [
      'deploystate merge-resolve',
      'deploystate merge-resolve deployments/bscmainnet.json --pick Vault=theirs',
      'deploystate merge-resolve --chain --rpc 56=https://bsc-dataseed.bnbchain.org',
      'deploystate merge-resolve deployments/bscmainnet.json --all ours --json',
    ],
  },
  {
    usage: 'bench [...args]',
    module: 'bench',
    description: 'Measure LevelDB vs JSON on a copy of your store against the runbook limits (bench options after --)',
    examples: ['deploystate bench -- --suite backends --gate', 'deploystate bench -- --long', 'deploystate bench -- --help'],
  },
  {
    usage: 'export <file>',
    module: 'export',
    description: 'Write every chain of one side to one file (JSON or NDJSON; - for stdout), losslessly',
    options: [sideFlag('--from'), ['--format <format>', 'json | ndjson (default: from the file name)'], ['--force', 'Replace the file if it exists']],
    examples: ['deploystate export state.json', 'deploystate export state.ndjson --from json --force', 'deploystate export - --format ndjson | jq .address'],
  },
  {
    usage: 'import <file>',
    module: 'import',
    description: 'Load an export into one side (only in leveldb-only, where no journal is bypassed)',
    options: [sideFlag('--to'), ['--force', 'Overwrite records that differ']],
    examples: ['deploystate import state.json', 'deploystate import state.ndjson --to json --force --yes'],
  },
  {
    usage: 'restore [target]',
    module: 'restore',
    description: "Restore a network's JSON file (target: its name or chainId) or the LevelDB folder (target: leveldb) from backups",
    options: [
      ['--backup <name>', 'A specific backup (default: the newest one that parses)'],
      ['--older', 'Take an older version when the last one written was changed in place (default: refuse)'],
      ['--discard-newer', 'Restore even when what it replaces holds records the backup lacks or holds older (default: refuse, naming them)'],
      ['--list', 'List the backups, change nothing (without a target: every network file and the LevelDB folder)'],
    ],
    examples: [
      'deploystate restore --list',
      'deploystate restore bscmainnet --list',
      'deploystate restore 56',
      'deploystate restore leveldb --yes',
      'deploystate restore leveldb --leveldb ./leveldb',
    ],
  },
  {
    usage: 'repair-files',
    module: 'repair-files',
    description: "Put back records another program's rewrite of a network file dropped or changed, from the journal (asks first)",
    options: [
      ['--dry-run', 'Show what it would put back, change nothing'],
      ['--accept', 'Instead take the files as they are (records removed or changed on purpose) as the new baseline'],
      ['--removed', 'Also put back records the copy or a restore wrote that left their file without the store (a rewrite, not a delete), from LevelDB'],
    ],
    examples: ['deploystate repair-files --dry-run', 'deploystate repair-files --yes', 'deploystate repair-files --removed --yes', 'deploystate repair-files --accept --yes'],
  },
  {
    usage: 'demo [dir]',
    module: 'demo',
    description: 'Create the production-shaped sample store (28 records on 5 chains plus the hardhat dev chain) in a folder',
    examples: ['deploystate demo', 'deploystate demo ./sample && cd sample && deploystate analyze'],
  },
  {
    usage: 'drill <scenario>',
    module: 'drill',
    description:
      'Runbook checks run on a temp COPY of your data: json-backend | cross-network | edge-cases | error-recovery (exit 1 on any failure)',
    options: [
      ['--expected <file>', 'cross-network: expected inventory, { "<network or chainId>": count | [names] }'],
      ['--keep', 'Keep the copy afterwards (its path is printed) instead of removing it'],
    ],
    examples: [
      'deploystate drill json-backend',
      'deploystate drill cross-network --expected expected-inventory.json',
      'deploystate drill edge-cases --json',
      'deploystate drill error-recovery',
    ],
  },
  {
    usage: 'project-check <name>',
    module: 'project-check',
    description: 'Run the command your project configures for a runbook check ("projectChecks" in deploystate.config.json)',
    examples: ['deploystate project-check hardhat-integration', 'deploystate project-check compile --json'],
  },
];
