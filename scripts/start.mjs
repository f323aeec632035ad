#!/usr/bin/env node
// `npm start`: build, then launch the tray app in Electron. Electron downloads its binary on first
// use; where it cannot (no network to its host), say so and point at what does run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

let electron = null;
try {
  electron = createRequire(import.meta.url)('electron');
} catch (err) {
  console.error(`baton: cannot start the tray app: Electron is not available here (${err.message.split('\n')[0]}).`);
}
if (!electron || !existsSync(electron) || !existsSync('dist/app/main/index.js')) {
  console.error('baton: the tray app is not available in this build; the command line is: bin/baton --help');
  process.exit(1);
}
const r = spawnSync(electron, ['.'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
