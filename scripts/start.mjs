#!/usr/bin/env node
// `npm start`: builds everything (tsc, the renderer), then runs the tray app in Electron. Where
// Electron cannot run (no binary: its download host is unreachable on the build machines; or no
// graphical session), it shows the same desk in the browser instead: `baton helper --simulate` on
// a private folder and `baton ui --open` on its socket. Ctrl-C stops both.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(new URL('..', import.meta.url).pathname);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function step(title, cmd, args) {
  console.error(`baton: ${title}…`);
  // Build output goes to stderr: stdout is for the URL alone.
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    console.error(`baton: ${title} failed (${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

/** The Electron executable, found without letting the electron package try to download it. */
function electronBinary() {
  const dir = join(root, 'node_modules', 'electron');
  if (!existsSync(join(dir, 'package.json'))) return { path: null, why: 'the electron package is not installed' };
  const pathFile = join(dir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(dir, 'dist');
  const path = join(dist, name);
  if (!existsSync(path)) return { path: null, why: `Electron's binary is not installed (${path} is missing; its download host cannot be reached from here)` };
  return { path, why: null };
}

/** Why the tray app cannot run here, or null when it can. */
function trayBlocker(electron) {
  if (!electron.path) return electron.why;
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'there is no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  if (!existsSync(join(root, 'dist', 'app', 'main', 'index.js'))) return 'the tray app is not built (dist/app/main/index.js is missing)';
  return null;
}

// --no-build: run what is built already (a second start, or a machine busy with other builds).
const build = !process.argv.includes('--no-build');
const electron = electronBinary();
if (build) {
  step('building the command line and the helper (tsc, bundle)', 'npm', ['run', '--silent', 'build']);
  step('building the desk (vite)', 'npm', ['run', '--silent', 'build:renderer']);
  if (electron.path && pkg.scripts?.['build:main']) step('building the tray app', 'npm', ['run', '--silent', 'build:main']);
}

const blocker = trayBlocker(electron);
if (!blocker) {
  const r = spawnSync(electron.path, ['.'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// --- the browser fallback ---

const { simulatedConfigYaml } = await import(join(root, 'dist', 'app', 'helper', 'simulate', 'config.js'));
const dir = mkdtempSync(join(tmpdir(), 'baton-start-'));
const config = join(dir, 'baton.yaml');
const uid = process.getuid?.() ?? 0;
// The simulated helper runs as you; helper.users lets you (and only you: the folder is 0700) talk to it.
writeFileSync(config, simulatedConfigYaml({ stateDir: dir }).replace(/^helper:\n/m, `helper:\n  users: [${uid}]\n`));
const socket = join(dir, 'helper.sock');
const baton = join(root, 'bin', 'baton');
const children = [];

function start(args, what) {
  const child = spawn(process.execPath, [baton, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stderr.pipe(process.stderr);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    // Ctrl-C reaches the children too (one process group); they end cleanly with 0.
    if (code === 0 || signal === 'SIGINT') return stop(0);
    console.error(`baton: ${what} stopped (${code ?? signal}); stopping`);
    stop(1);
  });
  return child;
}

let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  let left = children.filter((c) => c.exitCode === null && c.signalCode === null);
  const done = () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  if (!left.length) return done();
  const killer = setTimeout(() => left.forEach((c) => c.kill('SIGKILL')), 5000);
  for (const c of left) {
    c.once('exit', () => {
      left = left.filter((x) => x !== c);
      if (!left.length) {
        clearTimeout(killer);
        done();
      }
    });
    c.kill('SIGTERM');
  }
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function lineOf(stream, ok) {
  return new Promise((resolveLine) => {
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      if (ok(line)) {
        lines.removeAllListeners('line');
        resolveLine(line.trim());
      }
    });
  });
}

const helper = start(['helper', '--simulate', '--config', config, '--insecure-config', '--socket', socket], 'the simulated helper');
helper.stdout.pipe(process.stderr);
const ready = new Promise((resolveReady) => {
  const lines = createInterface({ input: helper.stderr });
  lines.on('line', (line) => line.includes('listening on') && resolveReady());
});
await ready;
const ui = start(['ui', '--socket', socket, '--open'], 'baton ui');
const url = await lineOf(ui.stdout, () => true);
ui.stdout.resume();
console.log(url);
console.error(`baton: not the tray app: ${blocker}. The desk of a simulated workstation is at the URL above (Ctrl-C stops it).`);
