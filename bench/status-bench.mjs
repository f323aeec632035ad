#!/usr/bin/env node
// `baton status` wall time against the simulated helper: starts `bin/baton helper --simulate`
// (its own private state folder), then runs `bin/baton status --socket S` N times as separate
// processes, as a user would. Needs the build: `npm run build && node bench/status-bench.mjs [runs]`.
// Prints the figures; asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

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

// Wall time, and CPU time (user + sys, from /usr/bin/time when present): on a loaded machine the
// wall time mostly measures the wait for a core, the CPU time what the command itself costs.
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
function measure(argv) {
  const cmd = timeBin ? [timeBin, ['-f', 'cpu %U %S', process.execPath, ...argv]] : [process.execPath, argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, min ${s[0].toFixed(0)} ms`;
};

try {
  measure(['bin/baton', 'status', '--socket', socket]); // warm the disk cache
  const series = (argv) => Array.from({ length: runs }, () => measure(argv));
  const report = (label, xs) => console.log(`${label} wall ${stats(xs.map((x) => x.wall))}; cpu ${timeBin ? stats(xs.map((x) => x.cpu)) : 'n/a'}`);
  report("node -e ''        ", series(['-e', '']));
  report('baton --version   ', series(['bin/baton', '--version']));
  // --help loads every command module: what any command cost before commands were loaded lazily.
  report('baton --help      ', series(['bin/baton', '--help']));
  report('baton status      ', series(['bin/baton', 'status', '--socket', socket]));
  // tsc's dist/ against the bundle bin/baton runs (scripts/bundle.mjs), alternating run by run.
  if (existsSync('dist/bundle/baton.js')) {
    const fromDist = [];
    const fromBundle = [];
    for (let i = 0; i < runs; i++) {
      fromDist.push(measure(['dist/app/cli/bin.js', 'status', '--socket', socket]));
      fromBundle.push(measure(['dist/bundle/baton.js', 'status', '--socket', socket]));
    }
    report('status, dist/     ', fromDist);
    report('status, bundle    ', fromBundle);
  }
  console.log(`[${runs} runs each; goal: baton status ≤ 150 ms wall on an idle machine; load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}]`);
} finally {
  helper.kill('SIGTERM');
}
