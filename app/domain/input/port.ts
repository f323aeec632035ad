// Where a GPU's inputs (issue 12) are: the port the switch's "move input" step drives. The real
// adapter (app/helper/input/follower.ts) runs the relay and attaches its virtual devices to the
// VM; the simulated workstation keeps the same state in memory.
import type { VmName } from '../vm/port.js';

export interface InputPort {
  /**
   * The inputs that follow `gpu` go into `vm` (handed over from another VM if they were there), or
   * back to the host (null: no grab, no relay). Idempotent: asking for where they are re-attaches
   * what is missing (after a helper restart the relay and QEMU's objects are gone).
   */
  follow(gpu: string, vm: VmName | null): Promise<void>;
  /** The VM that has this GPU's inputs now, or null (the host). */
  holder(gpu: string): VmName | null;
  /** Who hears the return chord, pressed while a VM has the inputs of `gpu` (one handler; the helper service). */
  onChord(handler: (gpu: string) => void): void;
}
