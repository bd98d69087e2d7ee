// Runs the Hearth CLI from the TypeScript sources (bench fallback when dist/ cannot be built).
import { main } from '../../src/cli/main.js';

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
