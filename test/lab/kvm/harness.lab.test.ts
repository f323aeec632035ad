// The harness's failure paths: a job's non-zero exit status comes back to the host, and a QEMU
// that never ends is killed at its deadline.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { kvmLabUnavailable } from '../lib/availability.js';
import { describeOrSkip } from '../../support/skip.js';
import { describeRun, runInL1 } from '../lib/l1.js';
import { LAB_OUT } from '../lib/paths.js';
import { runQemu } from '../lib/qemu.js';
import { workstation } from '../lib/topology.js';

const unavailable = kvmLabUnavailable();

describeOrSkip(unavailable, 'KVM lab harness', () => {
  it('reports a failing job\'s exit status', async () => {
    const run = await runInL1({ name: 'kvm-harness-false', topology: workstation, argv: ['/usr/bin/false'], deadlineMs: 240_000 });
    expect(run.qemu.timedOut, describeRun(run)).toBe(false);
    expect(run.status, describeRun(run)).toBe(1);
  });

  it('kills QEMU at the deadline', async () => {
    const dir = join(LAB_OUT, 'kvm-harness-deadline');
    mkdirSync(dir, { recursive: true });
    // No kernel and no boot device: the firmware waits forever.
    const result = await runQemu({ args: ['-accel', 'tcg', '-nodefaults', '-display', 'none', '-m', '64'], deadlineMs: 3000, qemuLog: join(dir, 'qemu.log') });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(result.durationMs).toBeLessThan(30_000);
  });
});
