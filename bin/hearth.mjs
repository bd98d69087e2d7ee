#!/usr/bin/env node
// Entry point of the `hearth` command: builds the TypeScript sources when dist/ is missing or
// older than src/, then runs the compiled CLI.
import { ensureBuilt } from '../scripts/build-if-needed.mjs';

await ensureBuilt();
const { main } = await import('../dist/cli/main.js');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
