#!/usr/bin/env node
// `npm run package [-- --targets dir,deb,rpm,AppImage] [--stub-electron]`: builds the app (tsc, main
// and its preload bundle, the renderer) and packages it with electron-builder for Linux x64.
//
// electron-builder wants Electron's zip and fpm, both downloads. Offline:
//   - --stub-electron packages against a stub electronDist (an executable named `electron` that
//     only prints that it is a stub, carrying Electron's fuse wire so the fuses are really set):
//     the layout, the scripts and the metadata are real, the program is not.
//   - deb and rpm go through packaging/fpm-shim.mjs (dpkg-deb, rpmbuild) via CUSTOM_FPM_PATH.
//   - AppImage needs its runtime downloaded: it is built only where the network allows.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return args[i].includes('=') ? args[i].slice(name.length + 1) : args[i + 1];
};
const targets = option('--targets', 'AppImage,deb,rpm').split(',').filter(Boolean);
const root = resolve(new URL('..', import.meta.url).pathname);

function step(title, cmd, argv, env = {}) {
  console.log(`\n=== ${title}: ${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`=== ${title} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

/** Electron 45's fuse wire as its binary carries it (version 1, 8 fuses, defaults). */
const FUSE_SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const DEFAULT_FUSES = '10110001';

export function writeStubElectron(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const wire = Buffer.concat([Buffer.from(FUSE_SENTINEL), Buffer.from([1, DEFAULT_FUSES.length]), Buffer.from(DEFAULT_FUSES)]);
  const script = Buffer.concat([
    Buffer.from('#!/bin/sh\n# A stub of the Electron binary, for packaging where Electron cannot be downloaded. Fuse wire: '),
    wire,
    Buffer.from('\necho "baton: this package was built against a stub Electron (scripts/package.mjs --stub-electron); it cannot run" >&2\nexit 1\n'),
  ]);
  writeFileSync(join(dir, 'electron'), script);
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'chrome-sandbox'), '');
  writeFileSync(join(dir, 'version'), '45.5.0');
  mkdirSync(join(dir, 'resources'));
  return dir;
}

function electronDist() {
  if (flag('--stub-electron')) return writeStubElectron(join(root, '.cache', 'electron-stub'));
  // The real binary, when `npx install-electron` could fetch it.
  const dist = join(root, 'node_modules', 'electron', 'dist');
  if (existsSync(join(dist, 'electron'))) return dist;
  console.error('baton: Electron\'s binary is not here (node_modules/electron/dist). Fetch it with `npx install-electron` where the network allows, or check the packaging against a stub: npm run package -- --stub-electron');
  process.exit(1);
}

const dist = electronDist();
const build = !flag('--prepackaged');
if (build) step('build', 'npm', ['run', '--silent', 'build']);
if (build) step('build Electron main and preload', 'node', ['scripts/build-main.mjs']);
if (build && !flag('--skip-renderer')) step('build the renderer', 'npx', ['vite', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']);
if (!existsSync(join(root, 'renderer', 'dist', 'index.html'))) {
  console.error('baton: renderer/dist/index.html is missing: the renderer build did not run or failed');
  process.exit(1);
}

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const builderArgs = ['electron-builder', '--linux', ...targets, '--x64', '--publish', 'never', `--config.electronDist=${dist}`];
// --prepackaged: make the packages from release/linux-unpacked as it is (after a `--targets dir`).
if (flag('--prepackaged')) builderArgs.push('--prepackaged', join(root, 'release', 'linux-unpacked'));
if (targets.includes('AppImage') && flag('--stub-electron')) console.log('note: AppImage needs electron-builder to download its runtime; offline it fails.');
step(`electron-builder (${targets.join(', ')})`, 'npx', builderArgs, {
  CUSTOM_FPM_PATH: join(root, 'packaging', 'fpm-shim.mjs'),
  ELECTRON_BUILDER_OFFLINE: 'true',
});
console.log(`\npackages for ${version} in release/`);
