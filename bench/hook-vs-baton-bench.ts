// Issue 13 item 1: the same GPU moves done the hook-script way and by Baton, alternating in one KVM
// lab run (bench/lab/hook-vs-baton-job.sh inside L1, nested tiny-kernel guests answering the unplug).
// Prints each move's median both ways, the ratio Baton ÷ shell, Baton's own time beyond its steps
// and per step beyond the floors measured in the same run (device_del → DEVICE_DELETED from the QMP
// event timestamps, the reset write, the socat device_add round trip, the sysfs bind writes).
//   node dist/bench/hook-vs-baton-bench.js [--rounds 5] [--profile]     (npm run bench -- --only hook-vs-baton)
// --profile runs the helper under V8's CPU profiler and prints where its own time went
// (bench/lib/cpu-profile.ts); profiling slows it, so the figures of such a run are not the bench's.
// A lab run: root, QEMU, the lab kernel and the tiny kernel; run it under flock /tmp/baton-heavy.lock.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kvmLabUnavailable } from '../test/lab/lib/availability.js';
import { describeRun, runInL1 } from '../test/lab/lib/l1.js';
import { l1BootUnderLoad } from '../test/lab/lib/l2-boot.js';
import { NestedResults } from '../test/lab/lib/l2-results.js';
import { REPO_ROOT } from '../test/lab/lib/paths.js';
import { buildTinyKernel, tinyKernelUnavailable } from '../test/lab/lib/tiny-kernel.js';
import { workstation } from '../test/lab/lib/topology.js';
import { summariseProfile } from './lib/cpu-profile.js';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, profile: { type: 'boolean' } }, strict: false });
const ROUNDS = Number(values.rounds ?? 5);
const out = (line: string) => console.log(line);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

const unavailable = kvmLabUnavailable() ?? tinyKernelUnavailable();
if (unavailable) {
  out(`hook-vs-baton: SKIPPED: ${unavailable}`);
  process.exit(0);
}
const { gpuA, gpuAAudio } = workstation.roles as Record<'gpuA' | 'gpuAAudio', string>;
const tiny = await buildTinyKernel();
const started = new Date();
const run = await runInL1({
  name: 'hook-vs-baton', topology: workstation, boot: l1BootUnderLoad, smp: 2,
  argv: ['/bin/sh', join(REPO_ROOT, 'bench/lab/hook-vs-baton-job.sh')],
  env: { GPU_A: gpuA, GPU_A_AUDIO: gpuAAudio, TINY_BZIMAGE: tiny.bzImage, TINY_INITRD: tiny.initrd, ROUNDS: String(ROUNDS), ...(values.profile ? { HELPER_PROFILE: '1' } : {}) },
  deadlineMs: 1_500_000,
});
const r = new NestedResults(run.shareDir);
const facts = r.facts();
out(`hook-vs-baton: L1 run ${run.qemu.durationMs} ms, job status ${run.status}, started ${started.toISOString()}, guests up after ${facts.l2BootMs} ms, helper up after ${facts.helperUpMs} ms; sleeps ${facts.sleeps}${values.profile ? '; the helper ran under --cpu-prof: these are not the bench\'s figures' : ''}`);
if (run.status !== 0) out(describeRun(run));

interface Move {
  target: string; wallMs: number; from: string | null; result: { outcome?: string; error?: string; switchId?: string };
  steps: { name: string; ms: number; ownMs?: number; outcome: string }[] | null;
  /** The history entry's own time: the switch's wall time in the helper less its waits (app/helper/engine/own-time.ts). */
  ownMs?: number | null;
}
const MOVES = [['host', 'vm-a'], ['vm-a', 'vm-b'], ['vm-b', 'host']] as const;
const shell: Record<string, number[]> = {};
const baton: Record<string, number[]> = {};
const outside: Record<string, number[]> = {};
const stepMs: Record<string, number[]> = {};
const stepOwnMs: Record<string, number[]> = {};
const switchOwnMs: Record<string, number[]> = {};
const failures: string[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [from, to] of MOVES) {
    const key = `${from} → ${to}`;
    const ms = Number(facts[`shell-${round}-${from}-${to}`]);
    // Landed: the target VM shows both hook devices and the other none; to the host: neither does.
    const seen = ['vm-a', 'vm-b'].map((vm) => Number(facts[`seen-${round}-${to}-${vm}`] ?? -1));
    const landed = to === 'host' ? seen.every((n) => n === 0) : seen[to === 'vm-a' ? 0 : 1] === 2 && seen[to === 'vm-a' ? 1 : 0] === 0;
    if (!Number.isFinite(ms)) failures.push(`shell round ${round} ${key}: not run`);
    else if (!landed) failures.push(`shell round ${round} ${key}: did not land (query-pci hook devices ${seen.join('/')})`);
    else (shell[key] ??= []).push(ms);
  }
  if (!r.has(`baton-${round}`)) {
    failures.push(`baton round ${round}: not run`);
    continue;
  }
  let moves: Move[];
  try {
    moves = r.json<Move[]>(`baton-${round}`);
  } catch (err) {
    failures.push(`baton round ${round}: ${(err as Error).message.split('\n')[0]}`);
    continue;
  }
  moves.forEach((m, i) => {
    const key = `${MOVES[i]![0]} → ${MOVES[i]![1]}`;
    if (m.result.outcome !== 'succeeded') return void failures.push(`baton round ${round} ${key}: ${m.result.outcome ?? m.result.error}`);
    (baton[key] ??= []).push(m.wallMs);
    const inSteps = (m.steps ?? []).reduce((a, s) => a + s.ms, 0);
    (outside[key] ??= []).push(m.wallMs - inSteps);
    for (const s of m.steps ?? []) {
      (stepMs[`${key}|${s.name}`] ??= []).push(s.ms);
      if (typeof s.ownMs === 'number') (stepOwnMs[`${key}|${s.name}`] ??= []).push(s.ownMs);
    }
    if (typeof m.ownMs === 'number') (switchOwnMs[key] ??= []).push(m.ownMs);
  });
}

// Floors from the shell's own trace and socat output, same run.
const trace = r.file('shell-trace.txt').split('\n').filter(Boolean).map((l) => l.split(' '));
const pairs = (start: string, end: string) => {
  const ms: number[] = [];
  let t0: number | null = null;
  for (const [, t, what] of trace) {
    if (what === start) t0 = Number(t);
    if (what === end && t0 !== null) {
      ms.push(Number(t) - t0);
      t0 = null;
    }
  }
  return ms;
};
const deleted: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [from, to] of MOVES) {
    if (from === 'host') continue;
    const text = readFileSafe(join(run.shareDir, 'cmd', `shell-${round}-${from}-${to}.out`));
    const sentAt = trace.find(([, , what, vm], i) => what === 'del-start' && vm === from && trace[i - 1]?.[2] === 'move' && trace[i - 1]?.[3] === String(round));
    const events = text.split('\n').filter((l) => l.includes('DEVICE_DELETED') && l.includes('hook-fn'))
      .map((l) => JSON.parse(l) as { timestamp: { seconds: number; microseconds: number } });
    if (sentAt && events.length) deleted.push(Math.max(...events.map((e) => e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000)) - Number(sentAt[1]));
  }
}
function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
const floors = {
  'device_del → DEVICE_DELETED (both functions, QMP event time)': deleted,
  'reset write (echo 1 > reset)': pairs('reset-start', 'reset-end'),
  'device_add × 2 through socat (incl. its 0.5 s linger)': pairs('add-start', 'add-end'),
  'driver_override + unbind + drivers_probe, both functions': pairs('bind-start', 'bind-end'),
};

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
out('');
out(`| move | shell median (n) | Baton median (n) | Baton ÷ shell | Baton outside its steps, median | Baton's own time per switch, median |`);
out(`| --- | ---: | ---: | ---: | ---: | ---: |`);
for (const [from, to] of MOVES) {
  const key = `${from} → ${to}`;
  const s = median(shell[key] ?? []);
  const b = median(baton[key] ?? []);
  out(`| ${key} | ${f0(s)} ms (${shell[key]?.length ?? 0}) | ${f0(b)} ms (${baton[key]?.length ?? 0}) | ${(b / s).toFixed(2)} | ${f0(median(outside[key] ?? []))} ms | ${f0(median(switchOwnMs[key] ?? []))} ms |`);
}
out('');
out(`| Baton step (move) | median | own time in it, median (max) | n |`);
out(`| --- | ---: | ---: | ---: |`);
for (const [k, ms] of Object.entries(stepMs)) {
  const own = stepOwnMs[k] ?? [];
  out(`| ${k.split('|')[1]} (${k.split('|')[0]}) | ${f0(median(ms))} ms | ${f0(median(own))} ms (${f0(Math.max(...own))}) | ${ms.length} |`);
}
out('');
out(`| floor (shell, same run) | median | n | reset exit codes |`);
out(`| --- | ---: | ---: | --- |`);
const resetCodes = trace.filter(([, , w]) => w === 'reset-end').map((l) => l[4]).join(',');
for (const [k, ms] of Object.entries(floors)) out(`| ${k} | ${f0(median(ms))} ms | ${ms.length} | ${k.startsWith('reset') ? resetCodes : ''} |`);
out('');
out(failures.length ? `not counted (${failures.length}): ${failures.join('; ')}` : 'every move of both kinds landed');
out(`raw: shell ${JSON.stringify(shell)} baton ${JSON.stringify(baton)}`);
if (values.profile) {
  const dir = join(run.shareDir, 'prof');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) out(`profile: none written in ${dir} (the helper must exit normally to write it)`);
  for (const f of files) {
    out(`\nprofile ${join(dir, f)} (figures under the profiler; self time by function, then by file):`);
    out(summariseProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')), 25));
  }
}
