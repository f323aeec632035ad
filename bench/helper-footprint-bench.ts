// Helper footprint (issue 13 item 2): cold start to listening, resident memory idle and after
// 10,000 switches on the simulated workstation, idle CPU over 60 s with a subscribed client, file
// descriptors and child processes after the switches. Printed, never asserted.
//   node dist/bench/helper-footprint-bench.js [--switches N] [--idle-seconds S] [--full]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectHelper } from '../app/protocol/helper-client.js';
import { startHelperProcess, type HelperProcess } from './lib/helper-process.js';
import { childPids, cpuSeconds, mib, openFds, percentile, rssBytes, threads } from './lib/proc.js';

const { values } = parseArgs({ options: { switches: { type: 'string' }, 'idle-seconds': { type: 'string' }, full: { type: 'boolean' }, starts: { type: 'string' } }, strict: false });
const SWITCHES = Number(values.switches ?? 10_000);
const IDLE_S = Number(values['idle-seconds'] ?? 60);
const STARTS = Number(values.starts ?? 5);
const ROOT = new URL('../..', import.meta.url).pathname; // dist/bench → repository root
const BATON = join(ROOT, 'bin/baton');
const SIM_HELPER = join(ROOT, 'dist/bench/lib/sim-helper-main.js');
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (line: string) => console.log(line);

async function cliHelper(dir: string): Promise<HelperProcess> {
  // The product path: `baton helper --simulate` (its own config, here with the socket moved).
  return startHelperProcess([BATON, 'helper', '--simulate', '--socket', join(dir, 'cli.sock')], join(dir, 'cli.sock'));
}

// 1. Cold start to listening, alternating the CLI helper and the bench's speed-0 helper.
const starts: Record<string, number[]> = { 'baton helper --simulate': [], 'bench sim helper (speed 0)': [] };
for (let i = 0; i < STARTS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-footprint-'));
  const a = await cliHelper(dir);
  starts['baton helper --simulate']!.push(a.startMs);
  await a.stop();
  const b = await startHelperProcess([SIM_HELPER, '--state', dir], join(dir, 'helper.sock'));
  starts['bench sim helper (speed 0)']!.push(b.startMs);
  await b.stop();
  rmSync(dir, { recursive: true, force: true });
}
for (const [what, ms] of Object.entries(starts)) {
  const s = [...ms].sort((x, y) => x - y);
  out(`cold start to listening, ${what}: median ${percentile(s, 50).toFixed(0)} ms, min ${s[0]!.toFixed(0)}, max ${s.at(-1)!.toFixed(0)} (n=${s.length})`);
}

// 2. Idle: `baton helper --simulate` with one subscribed client, IDLE_S seconds, beside a bare Node
// process listening on a Unix socket with one client connected (what Node itself wakes up for).
interface IdleProfile {
  rss: number;
  threads: number;
  cpuMs: number;
  syscalls: string;
  mainWaits: number;
  timeouts: string[];
}

function idleProfile(pid: number, dir: string, tag: string): IdleProfile {
  const rss = rssBytes(pid);
  const cpu0 = cpuSeconds(pid);
  const file = join(dir, `strace-${tag}.txt`);
  spawnSync('strace', ['-f', '-c', '-p', String(pid), '-o', file], { timeout: IDLE_S * 1000, killSignal: 'SIGINT' });
  const cpuMs = (cpuSeconds(pid) - cpu0) * 1000;
  spawnSync('sleep', ['0.5']);
  const summary = spawnSync('cat', [file], { encoding: 'utf8' }).stdout ?? '';
  const rows = summary.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l) && !/total\s*$/.test(l));
  const syscalls = rows.map((l) => { const f = l.trim().split(/\s+/); return `${f.at(-1)} ${f[3]}`; }).join(', ') || 'none';
  // Which timeout the main event loop sleeps with: -1 means no timer is armed at all.
  const waits = spawnSync('strace', ['-f', '-e', 'trace=epoll_wait,epoll_pwait', '-p', String(pid)], { timeout: 10_000, killSignal: 'SIGINT', encoding: 'utf8' });
  const main = (waits.stderr ?? '').split('\n').filter((l) => /epoll_p?wait\(/.test(l) && !/^\[pid\s+\d+\]/.test(l.replace(String(pid), '')));
  const timeouts = [...new Set(main.map((l) => /epoll_p?wait\(\d+, [^,]*, \d+, (-?\d+)/.exec(l)?.[1]).filter((t): t is string => t !== undefined))];
  return { rss, threads: threads(pid), cpuMs, syscalls, mainWaits: main.length, timeouts };
}

const describeIdle = (what: string, p: IdleProfile) =>
  `idle, ${what}: RSS ${mib(p.rss)}, ${p.threads} threads; CPU ${p.cpuMs.toFixed(0)} ms over ${IDLE_S} s (utime+stime, /proc/PID/stat); ` +
  `syscalls over those ${IDLE_S} s (strace -c -f, all threads): ${p.syscalls}; main loop over 10 s more: ${p.mainWaits} epoll waits, timeouts ${JSON.stringify(p.timeouts)} ms (-1: no timer armed)`;

{
  const dir = mkdtempSync(join(tmpdir(), 'baton-footprint-'));
  const h = await cliHelper(dir);
  const client = await connectHelper(h.socketPath);
  await client.call('subscribe');
  let events = 0;
  client.onEvent(() => events++);
  await settle(10_000); // past start-up's garbage collections
  out(`${describeIdle('baton helper --simulate, 1 subscribed client', idleProfile(h.pid, dir, 'baton'))}; ${events} events received`);
  client.close();
  await h.stop();

  const bare = join(dir, 'bare.sock');
  const b = await startHelperProcess(['-e', `require('node:net').createServer((s) => s.on('data', () => {})).listen(${JSON.stringify(bare)})`], bare);
  const { connect } = await import('node:net');
  const peer = connect(bare);
  await settle(10_000);
  out(describeIdle('bare node, a Unix socket server with 1 client', idleProfile(b.pid, dir, 'bare')));
  peer.destroy();
  await b.stop();
  rmSync(dir, { recursive: true, force: true });
}

// 2b. Which timers the helper keeps armed when idle: the CLI helper run in a process that, 12 s
// after start, prints process.getActiveResourcesInfo() (its own 12 s timer is the one "Timeout").
{
  const dir = mkdtempSync(join(tmpdir(), 'baton-footprint-'));
  const script = `const { runCli } = await import(${JSON.stringify(join(ROOT, 'dist/app/cli/main.js'))});
void runCli(['helper', '--simulate', '--socket', ${JSON.stringify(join(dir, 'timers.sock'))}]);
setTimeout(() => { console.log(JSON.stringify(process.getActiveResourcesInfo())); process.exit(0); }, 12000);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  out(`active resources of an idle baton helper --simulate after 12 s (process.getActiveResourcesInfo; one Timeout is the probe's own): ${r.stdout.trim() || r.stderr.trim()}`);
  rmSync(dir, { recursive: true, force: true });
}

// 3. SWITCHES switches on the speed-0 helper: RSS, fds, children before and after.
{
  const dir = mkdtempSync(join(tmpdir(), 'baton-footprint-'));
  const h = await startHelperProcess([SIM_HELPER, '--state', dir], join(dir, 'helper.sock'));
  const client = await connectHelper(h.socketPath);
  await client.call('subscribe');
  await settle(1000);
  const before = { rss: rssBytes(h.pid), fds: openFds(h.pid), children: childPids(h.pid), threads: threads(h.pid) };
  const targets = { 'gpu-a': ['win11', 'linux-dev', 'host', 'park'], 'gpu-b': ['vm-xen', 'host', 'park', 'host'] } as const;
  const outcomes: Record<string, number> = {};
  const t0 = performance.now();
  // Switches per second in each block of 1,000: the history rotates (rewrites itself) past its
  // maxEntries (1,000 by default), which shows here as the blocks after the first.
  const blocks: number[] = [];
  let blockStart = t0;
  for (let i = 0; i < SWITCHES; i++) {
    if (i > 0 && i % 1000 === 0) {
      blocks.push(1000 / ((performance.now() - blockStart) / 1000));
      blockStart = performance.now();
    }
    const gpu = i % 2 ? 'gpu-b' : 'gpu-a';
    const list = targets[gpu];
    const r = await client.call('switch', { gpu, target: list[Math.floor(i / 2) % list.length]!, requestedBy: 'cli' });
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  await settle(2000);
  const after = { rss: rssBytes(h.pid), fds: openFds(h.pid), children: childPids(h.pid), threads: threads(h.pid) };
  out(`${SWITCHES} switches (one client, sequential, speed 0): ${seconds.toFixed(1)} s, ${(SWITCHES / seconds).toFixed(0)} switches/s; outcomes ${JSON.stringify(outcomes)}`);
  if (blocks.length) out(`switches/s per block of 1,000: ${blocks.map((b) => b.toFixed(0)).join(', ')}`);
  out(`RSS idle ${mib(before.rss)} → after ${SWITCHES} switches ${mib(after.rss)}`);
  out(`fds ${before.fds.count} ${JSON.stringify(before.fds.kinds)} → ${after.fds.count} ${JSON.stringify(after.fds.kinds)}`);
  out(`child processes ${before.children.length} → ${after.children.length}; threads ${before.threads} → ${after.threads}`);
  client.close();
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
}
