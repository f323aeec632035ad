// Regenerates test/fixtures/sysfs/*.tar.gz: boots each topology in L1, runs guest-capture.js
// inside, and packs each captured state as a reproducible tarball (sorted, owner 0, mtime 0).
// Run through `npm run lab:capture` (compiles the lab programs first).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CaptureSpec } from './guest-capture.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { LAB_JS, REPO_ROOT } from '../lib/paths.js';
import { dense, workstation, type Topology } from '../lib/topology.js';

export const FIXTURES_DIR = join(REPO_ROOT, 'test/fixtures/sysfs');

const plan: { topology: Topology; spec: CaptureSpec }[] = [
  {
    topology: workstation,
    spec: {
      modules: ['bochs', 'snd-hda-intel', 'e1000e'],
      waitForDrivers: ['bootVga', 'gpuA', 'gpuAAudio', 'gpuB', 'gpuBAudio', 'nic'].map((r) => workstation.roles[r] ?? r),
      states: [
        { name: 'workstation' },
        { name: 'workstation-vfio', vfio: [workstation.roles.gpuA ?? '', workstation.roles.gpuAAudio ?? ''] },
      ],
    },
  },
  {
    topology: dense,
    spec: {
      modules: ['bochs', 'snd-hda-intel', 'xhci-pci', 'e1000'],
      waitForDrivers: ['bootVga', 'gpu', 'gpuAudio', 'gpuUsb', 'bridgedDisplay', 'bridgedNic'].map((r) => dense.roles[r] ?? r),
      states: [{ name: 'dense' }],
    },
  },
];

/** The guest wrote a reproducible tar; compress it without a timestamp so reruns give equal bytes. */
function packTar(tar: string, tarball: string): number {
  const gz = gzipSync(readFileSync(tar), { level: 9 });
  writeFileSync(tarball, gz);
  return gz.length;
}

async function main(): Promise<void> {
  const guestScript = join(LAB_JS, 'test/lab/capture/guest-capture.js');
  if (!existsSync(guestScript)) throw new Error(`${guestScript} missing: compile with tsc -p test/lab/lib/tsconfig.json`);
  const only = process.argv.slice(2);
  for (const { topology, spec } of plan) {
    if (only.length && !only.includes(topology.name)) continue;
    const run = await runInL1({
      name: `capture-${topology.name}`,
      topology,
      argv: ['/usr/bin/node', guestScript, JSON.stringify(spec)],
      deadlineMs: 600_000,
    });
    if (run.status !== 0) throw new Error(describeRun(run));
    for (const state of spec.states) {
      const base = join(run.shareDir, 'capture', state.name);
      const bytes = packTar(`${base}.tar`, join(FIXTURES_DIR, `${state.name}.tar.gz`));
      const report = JSON.parse(readFileSync(`${base}.report.json`, 'utf8')) as { files: number; links: number; skipped: string[] };
      process.stdout.write(`${state.name}.tar.gz: ${Math.round(bytes / 1024)} KB (${report.files} files, ${report.links} links, ${report.skipped.length} skipped) in ${run.qemu.durationMs} ms\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
