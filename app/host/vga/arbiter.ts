// The kernel's VGA arbiter (/dev/vga_arbiter): a GPU that decodes the legacy VGA ranges shares them
// with every other VGA device, so its handoff runs under the arbiter's lock. The lock belongs to the
// open file: closing it (or the helper dying) releases it, so it can never be left held.
import { closeSync, existsSync, openSync, readSync, writeSync } from 'node:fs';
import type { PciAddress } from '../../domain/pci-address.js';

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

/**
 * Runs `work` holding the arbiter's io+mem lock for `address` when it decodes legacy VGA. Uses
 * trylock in a loop so a contended lock costs a deadline, never a hang; always unlocks.
 */
export async function withVgaLock<T>(address: PciAddress, work: () => Promise<T>, opts: { path?: string; deadlineMs?: number } = {}): Promise<{ value: T; arbiter: ArbiterOutcome }> {
  const path = opts.path ?? VGA_ARBITER;
  if (!existsSync(path)) return { value: await work(), arbiter: { kind: 'no-arbiter' } };
  const fd = openSync(path, 'r+');
  try {
    try {
      command(fd, `target PCI:${address}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new VgaArbiterError(`the VGA arbiter does not know ${address} (${code}): it is not a VGA device`);
    }
    const before = state(fd);
    if (!before) throw new VgaArbiterError(`cannot read the VGA arbiter's state for ${address}`);
    if (before.decodes === 'none') return { value: await work(), arbiter: { kind: 'not-needed', state: before } };

    const deadline = Date.now() + (opts.deadlineMs ?? 5_000);
    const started = Date.now();
    for (;;) {
      try {
        command(fd, 'trylock io+mem');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw new VgaArbiterError(`cannot lock the legacy VGA ranges for ${address}: ${(err as Error).message}`);
        if (Date.now() >= deadline) throw new VgaArbiterError(`the legacy VGA ranges stayed locked by another device for ${opts.deadlineMs ?? 5_000} ms; ${address} was not handed over`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    try {
      const held = state(fd) ?? before;
      return { value: await work(), arbiter: { kind: 'held', state: held, waitedMs: Date.now() - started } };
    } finally {
      try {
        command(fd, 'unlock all');
      } catch {
        // closing the file below releases the lock anyway
      }
    }
  } finally {
    closeSync(fd);
  }
}
