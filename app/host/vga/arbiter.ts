// The kernel's VGA arbiter (/dev/vga_arbiter): a GPU that decodes the legacy VGA ranges shares them
// with every other VGA device, so its handoff runs under the arbiter's lock. The lock belongs to the
// open file: closing it (or the helper dying) releases it, so it can never be left held.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import type { PciAddress } from '../../domain/pci-address.js';
import type { VgaLockHolders } from './lock-holder.js';

export const VGA_ARBITER = '/dev/vga_arbiter';

export interface ArbiterState {
  count: number;
  device: string;
  decodes: string;
  owns: string;
  locks: string;
}

/** Parses "count:2,PCI:0000:01:00.0,decodes=io+mem,owns=none,locks=none(0:0)" (older kernels omit count). */
export function parseArbiterState(line: string): ArbiterState | null {
  const m = /^(?:count:(\d+),)?PCI:([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]),decodes=([a-z+]+),owns=([a-z+]+),locks=([a-z+]+)/.exec(line.trim());
  if (!m) return null;
  return { count: m[1] ? Number(m[1]) : 1, device: m[2]!, decodes: m[3]!, owns: m[4]!, locks: m[5]! };
}

export class VgaArbiterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VgaArbiterError';
  }
}

function command(fd: number, text: string): void {
  writeSync(fd, text);
}

function state(fd: number): ArbiterState | null {
  const buf = Buffer.alloc(256);
  const n = readSync(fd, buf, 0, buf.length, null);
  return parseArbiterState(buf.subarray(0, n).toString('utf8'));
}

export type ArbiterOutcome =
  | { kind: 'held'; state: ArbiterState; waitedMs: number }
  | { kind: 'not-needed'; state: ArbiterState }
  | { kind: 'no-arbiter' };

/** The VGA-class devices the arbiter knows, from sysfs. */
function vgaDevices(sysfsRoot = '/sys'): string[] {
  const dir = `${sysfsRoot}/bus/pci/devices`;
  try {
    return readdirSync(dir).filter((d) => {
      try {
        return readFileSync(`${dir}/${d}/class`, 'utf8').startsWith('0x0300');
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/**
 * Runs `work` holding the arbiter's io+mem lock for `address` when it decodes legacy VGA. A lock
 * that cannot be had within the deadline costs an error, never a hang; the lock is always let go.
 *
 * The kernel's "trylock" command is inverted (Linux 6.1 and later, vga_arb_write: `if (vga_tryget())`
 * where vga_tryget returns 0 on success). On a free lock it takes the lock but answers EBUSY and
 * does not count it for the file, so it can never be unlocked, not even by closing the file; on a
 * held lock it answers success without locking. Only "lock" is sound, and it waits uninterruptibly
 * while another VGA device holds a lock. So a child process (the GPU's lock holder, lock-holder.ts)
 * waits, polling the other devices' lock state up to the deadline, until none holds one, then sends
 * "lock io+mem"; its open file holds the lock until it is told to let go or exits. The helper never
 * blocks past the deadline, even if the child does.
 */
export async function withVgaLock<T>(address: PciAddress, work: () => Promise<T>, holders: VgaLockHolders, opts: { path?: string; deadlineMs?: number } = {}): Promise<{ value: T; arbiter: ArbiterOutcome }> {
  const path = opts.path ?? VGA_ARBITER;
  if (!existsSync(path)) return { value: await work(), arbiter: { kind: 'no-arbiter' } };
  const fd = openSync(path, 'r+');
  let before: ArbiterState | null;
  try {
    try {
      command(fd, `target PCI:${address}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new VgaArbiterError(`the VGA arbiter does not know ${address} (${code}): it is not a VGA device`);
    }
    before = state(fd);
  } finally {
    closeSync(fd);
  }
  if (!before) throw new VgaArbiterError(`cannot read the VGA arbiter's state for ${address}`);
  if (before.decodes === 'none') return { value: await work(), arbiter: { kind: 'not-needed', state: before } };

  const deadlineMs = opts.deadlineMs ?? 5_000;
  const started = Date.now();
  const others = vgaDevices().filter((d) => d !== address);
  return holders.hold({ path, target: address, others, deadline: started + deadlineMs }, async (answer) => {
    if ('busy' in answer || 'noAnswer' in answer) {
      throw new VgaArbiterError(`the legacy VGA ranges stayed locked by another device for ${deadlineMs} ms${'busy' in answer ? ` (${answer.busy})` : ''}; ${address} was not handed over`);
    }
    if ('error' in answer) throw new VgaArbiterError(`cannot lock the legacy VGA ranges for ${address}: ${answer.error}`);
    const held = parseArbiterState(answer.held) ?? before;
    return { value: await work(), arbiter: { kind: 'held', state: held, waitedMs: Date.now() - started } };
  });
}
