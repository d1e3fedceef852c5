#!/usr/bin/env node
// deploystate-validate: the binary. Everything it does lives in cli.ts so tests can call it too.
import { main } from './cli.js';

const color = process.stdout.isTTY === true && !('NO_COLOR' in process.env);
const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  color,
});
process.exitCode = code;
