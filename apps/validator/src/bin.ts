#!/usr/bin/env node
// deploystate-validate: the binary. Everything it does lives in cli.ts so tests can call it too.
import { main } from './cli.js';

// NO_COLOR counts when non-empty (no-color.org); FORCE_COLOR (not "0") forces colour off a terminal.
const force = process.env.FORCE_COLOR;
const color =
  force !== undefined && force !== ''
    ? force !== '0' && force !== 'false'
    : process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  color,
});
process.exitCode = code;
