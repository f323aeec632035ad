#!/usr/bin/env node
// `baton status` wall time against the simulated helper: starts `bin/baton helper --simulate`
// (its own private state folder), then runs `bin/baton status --socket S` N times as separate
// processes, as a user would. Needs the build: `npm run build && node bench/status-bench.mjs [runs]`.
// Prints the figures; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const runs = Number(process.argv[2] ?? 30);
if (!existsSync('dist/app/cli/bin.js')) {
  console.error('status-bench: run `npm run build` first (dist/app/cli/bin.js is missing)');
  process.exit(1);
}

const helper = spawn(process.execPath, ['bin/baton', 'helper', '--simulate'], { stdio: ['ignore', 'ignore', 'pipe'] });
const socket = await new Promise((resolve, reject) => {
  let text = '';
  helper.stderr.on('data', (d) => {
    text += d;
    const m = /listening on (\S+)/.exec(text);
    if (m) resolve(m[1]);
  });
  helper.once('exit', (code) => reject(new Error(`the helper exited (${code}): ${text}`)));
});

function wallMs(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, min ${s[0].toFixed(0)} ms`;
};

try {
  wallMs(['bin/baton', 'status', '--socket', socket]); // warm the disk cache
  const node = Array.from({ length: runs }, () => wallMs(['-e', '']));
  const status = Array.from({ length: runs }, () => wallMs(['bin/baton', 'status', '--socket', socket]));
  const version = Array.from({ length: runs }, () => wallMs(['bin/baton', '--version']));
  console.log(`node -e '' (process start alone): ${stats(node)}`);
  console.log(`baton --version:                   ${stats(version)}`);
  console.log(`baton status (simulated helper):   ${stats(status)}   [${runs} runs, goal ≤ 150 ms]`);
} finally {
  helper.kill('SIGTERM');
}
