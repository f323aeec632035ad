// The simulated workstation's keyboard and mouse (issue 12): which VM has each GPU's inputs, the
// return chord pressed at will, and a one-shot failure for fault tests. Like the real follower, it
// puts an input object into the VM's (simulated) QEMU, which only a running VM takes, and a helper
// crash takes the inputs back to the host.
import type { InputPort } from '../../domain/input/port.js';
import type { BackendFor } from '../../domain/switch/ports.js';
import type { VmName } from '../../domain/vm/port.js';

export class SimulatedInputs implements InputPort {
  private readonly at = new Map<string, VmName>();
  private readonly failures = new Map<string, string>();
  private handler: ((gpu: string) => void) | null = null;
  /** Every move, in order (for tests and the demo). */
  readonly moves: { gpu: string; vm: VmName | null }[] = [];

  constructor(private readonly backendFor: BackendFor) {}

  async follow(gpu: string, vm: VmName | null): Promise<void> {
    const failure = this.failures.get(gpu);
    if (failure !== undefined) {
      this.failures.delete(gpu);
      throw new Error(failure);
    }
    const id = `baton-input-${gpu}`;
    const before = this.at.get(gpu);
    if (before && before !== vm) await this.backendFor(before).inputs?.remove(before, id).catch(() => {}); // a VM that went away took it
    if (vm !== null) {
      const inputs = this.backendFor(vm).inputs;
      if (!inputs) throw new Error(`${vm} cannot take an evdev input`);
      await inputs.remove(vm, id);
      await inputs.add(vm, { id, evdev: `/dev/input/event${20 + this.moves.length}` });
      this.at.set(gpu, vm);
    } else {
      this.at.delete(gpu);
    }
    this.moves.push({ gpu, vm });
  }

  holder(gpu: string): VmName | null {
    return this.at.get(gpu) ?? null;
  }

  onChord(handler: (gpu: string) => void): void {
    this.handler = handler;
  }

  /** The user presses the return chord on the keyboard of `gpu`: heard only while a VM has it (the relay runs). */
  pressChord(gpu: string): boolean {
    if (!this.at.has(gpu) || !this.handler) return false;
    this.handler(gpu);
    return true;
  }

  /** The next follow() for `gpu` fails with this message. */
  failNext(gpu: string, message: string): void {
    this.failures.set(gpu, message);
  }

  /** The helper died: its relays died with it, the host has every keyboard again. */
  crash(): void {
    this.at.clear();
  }
}
