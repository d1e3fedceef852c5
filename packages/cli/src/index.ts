// @deploystate/cli as a library: the exit-code contract, the error mapping and the command table,
// for tools that wrap the `deploystate` binary.
export { ExitCodes, EXIT_CODE_BY_ERROR, type ExitCode } from './exit-codes.js';
export { exitCodeFor, errorDocument, envelopeError } from './failure.js';
export { successEnvelope, failureEnvelope, ENVELOPE_SCHEMA_URL, type Envelope, type EnvelopeError } from './envelope.js';
export { COMMANDS, type CommandSpec } from './command-table.js';
export { planScripts, runbookScripts, type ScriptPlan } from './commands/init.js';
