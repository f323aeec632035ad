// node in dom0 of the Xen lab: node-stress.js spawns 500 child processes one after the other (as
// the Xen backend does with xl and xenstore) while the garbage collector churns. node crashed in
// dom0 after 20–60 children on the first lab machine (see "node in dom0" in README.md); this suite
// keeps the machine that fixed it honest. BATON_XEN_STRESS_VARIANTS (space-separated names from
// node-stress-dom0.sh) and the BATON_XEN_* machine knobs of xen-lab.ts turn it into an experiment.
// On demand only (a diagnostic of the lab machine, not of Baton; backend-move runs node in dom0 on
// every run): vitest.config.ts collects this file only with BATON_LAB_XEN_STRESS=1.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { buildProject } from '../lib/build.js';
import { REPO_ROOT } from '../lib/paths.js';
import { prepareXenLab, runXenLab, xenLabUnavailableReason, xenMachine, type XenLabInputs, type XenLabRun } from './xen-lab.js';

const COUNT = Number(process.env.BATON_XEN_STRESS_COUNT ?? 500);
const VARIANTS = (process.env.BATON_XEN_STRESS_VARIANTS ?? 'plain').split(/\s+/).filter(Boolean);
/** The crash needed the PV guests running (and xl children): by default both guests run. */
const GUESTS = process.env.BATON_XEN_STRESS_GUESTS ?? '1';
let run: XenLabRun | undefined;
let skipReason: string | undefined;

function labOrSkip(ctx: TestContext): XenLabRun {
  if (skipReason) ctx.skip(`Xen node-stability lab: ${skipReason}`);
  if (!run) throw new Error('the Xen node-stability lab did not run (see the beforeAll output above)');
  return run;
}

describe('node in dom0 of the Xen lab', () => {
  beforeAll(async () => {
    skipReason = xenLabUnavailableReason();
    if (skipReason) return;
    const build = buildProject();
    if (build) { skipReason = build; return; }
    if (!existsSync(join(REPO_ROOT, 'dist/test/tools/node-stress.js'))) { skipReason = 'dist/test/tools/node-stress.js was not built (npm run build)'; return; }
    let inputs: XenLabInputs;
    try {
      inputs = prepareXenLab();
    } catch (err) {
      skipReason = `cannot fetch or prepare the Xen or kernel packages: ${(err as Error).message.split('\n')[0]}`;
      return;
    }
    run = await runXenLab(inputs, 780_000, {
      scenario: join(import.meta.dirname, 'node-stress-dom0.sh'),
      outName: process.env.BATON_XEN_STRESS_OUT ?? 'xen-node-stability',
      env: { REPO: REPO_ROOT, STRESS_VARIANTS: VARIANTS.join(' '), STRESS_COUNT: String(COUNT), STRESS_LIMIT: '420', STRESS_GUESTS: GUESTS },
    });
    const lines = [`node in dom0 (${run.outDir}), machine ${JSON.stringify(xenMachine())}, QEMU ${(run.qemu.durationMs / 1000).toFixed(1)} s:`];
    for (const v of VARIANTS) {
      const step = run.steps.get(`stress-${v}`);
      const progress = step?.stderr.trim().split('\n').filter((l) => l.startsWith('spawned')).pop() ?? 'no child finished';
      lines.push(`  ${v}: exit ${step?.rc ?? 'never ran'}, ${step?.stdout.trim() || progress}, ${step ? (step.endS - step.startS).toFixed(1) : '-'} s`);
    }
    console.log(lines.join('\n'));
  });

  it(`spawns ${COUNT} child processes from node without crashing`, (ctx) => {
    const lab = labOrSkip(ctx);
    expect(lab.qemu.timedOut, `QEMU was killed at the deadline; see ${lab.outDir}/serial.log`).toBe(false);
    for (const v of VARIANTS) {
      const step = lab.steps.get(`stress-${v}`);
      expect(step, `variant ${v} ran`).toBeDefined();
      expect(step?.rc, `variant ${v}: exit code (134 = malloc abort, 139 = SIGSEGV); stderr: ${step?.stderr.slice(-2000)}`).toBe(0);
      expect(step?.stdout).toMatch(new RegExp(`^OK ${COUNT} in \\d+ ms$`, 'm'));
    }
  });
});
