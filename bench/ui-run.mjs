#!/usr/bin/env node
// Runs a TypeScript bench (default bench/ui-chromium.ts) through Vite's module runner: Node 20 cannot
// strip types itself, and jiti clashes with playwright-core (which loads its own copy).
import { runnerImport } from 'vite';

const file = process.argv[2]?.endsWith('.ts') ? process.argv[2] : 'bench/ui-chromium.ts';
const { module } = await runnerImport(`./${file}`, { configFile: false, logLevel: 'warn', server: { watch: null } });
await module.main(process.argv.slice(2).filter((a) => a !== file));
process.exit(0);
