// Whether the labs can run on this machine, and why not: lab suites skip with this reason
// (describeOrSkip, test/support/skip.ts) where QEMU or the kernel is missing; CI=true fails such a run.
import { existsSync } from 'node:fs';
import { buildInitrd } from './initrd.js';
import { prepareLabKernel } from './kernel.js';
import { qemuAvailable } from './qemu.js';

let cached: { reason: string | undefined } | undefined;

/** undefined when the KVM lab can boot; otherwise a sentence saying what is missing. */
export function kvmLabUnavailable(): string | undefined {
  cached ??= { reason: check() };
  return cached.reason;
}

function check(): string | undefined {
  if (process.env.BATON_LAB_SKIP) return 'BATON_LAB_SKIP is set';
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the labs need x86-64 Linux, not ${process.platform}/${process.arch}`;
  const noQemu = qemuAvailable();
  if (noQemu) return noQemu;
  if (!existsSync('/usr/sbin/modprobe')) return 'modprobe missing (Debian package kmod; run test/lab/setup.sh)';
  try {
    buildInitrd(prepareLabKernel());
  } catch (err) {
    return `the lab kernel cannot be fetched or prepared: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  return undefined;
}
