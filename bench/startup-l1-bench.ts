// How long a Baton command takes to start inside the KVM lab's L1 (TCG, files over 9p), from dist/
// (tsc's output, ~250 modules for the helper) and from the bundle (scripts/bundle.mjs), alternating
// in one L1 boot. Node's own start-up (`node -e 0`) is the floor. Prints medians, min and max.
//   node dist/bench/startup-l1-bench.js [--rounds 5]     (npm run bench -- --only startup-l1)
// A lab run: root, QEMU and the lab kernel; run it under flock /tmp/baton-heavy.lock.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kvmLabUnavailable } from '../test/lab/lib/availability.js';
import { describeRun, runInL1 } from '../test/lab/lib/l1.js';
import { REPO_ROOT } from '../test/lab/lib/paths.js';
import { workstation } from '../test/lab/lib/topology.js';

const { values } = parseArgs({ options: { rounds: { type: 'string' } }, strict: false });
const unavailable = kvmLabUnavailable();
if (unavailable) {
  console.log(`startup-l1: SKIPPED: ${unavailable}`);
  process.exit(0);
}
const started = new Date();
const run = await runInL1({
  name: 'startup-l1', topology: workstation,
  argv: ['/bin/sh', join(REPO_ROOT, 'bench/lab/startup-job.sh')],
  env: { ROUNDS: String(Number(values.rounds ?? 5)) },
  deadlineMs: 1_200_000,
});
if (run.status !== 0) {
  console.log(describeRun(run));
  process.exit(1);
}
const samples = new Map<string, number[]>();
for (const m of readFileSync(run.jobLog, 'utf8').matchAll(/^startup (\S+) (\d+)$/gm)) samples.set(m[1]!, [...(samples.get(m[1]!) ?? []), Number(m[2])]);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
console.log(`startup-l1: started ${started.toISOString()}, L1 run ${run.qemu.durationMs} ms`);
console.log('| command | median ms | min | max | n |\n| --- | ---: | ---: | ---: | ---: |');
for (const [kind, xs] of samples) console.log(`| ${kind} | ${median(xs)} | ${Math.min(...xs)} | ${Math.max(...xs)} | ${xs.length} |`);
