#!/usr/bin/env node
// Builds Electron main (tsc: app/main/tsconfig.json, with skipLibCheck off, into dist/) and bundles
// the preload into one CommonJS file, dist/app/main/preload.cjs: a sandboxed preload cannot import
// modules, only `electron` itself.
import { spawnSync } from 'node:child_process';
import { build } from 'rolldown';

const tsc = spawnSync('npx', ['tsc', '-p', 'app/main/tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(1);

await build({
  input: 'app/main/preload/preload.ts',
  external: ['electron'],
  platform: 'node',
  output: { file: 'dist/app/main/preload.cjs', format: 'cjs', sourcemap: false },
  logLevel: 'warn',
});
console.log('built dist/app/main (Electron main) and dist/app/main/preload.cjs');
