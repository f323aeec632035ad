// The real input port (issue 12): while a VM has a GPU with inputs, one relay child holds those
// inputs (EVIOCGRAB) and feeds their virtual twins, and the VM's QEMU reads the twins through
// input-linux objects (through its QMP socket, or libvirt's monitor). Back to the host: the objects
// are removed and the relay stopped, which releases the grab. The relay's chord goes to the
// service. A relay that dies (or a helper that died) takes grab and twins with it; the next
// follow() starts a new one and replaces the VM's stale objects.
import { inputsOfGpu, type BatonConfig } from '../../domain/config/index.js';
import { KEY_CODES } from '../../domain/input/codes.js';
import type { InputPort } from '../../domain/input/port.js';
import type { BackendFor } from '../../domain/switch/ports.js';
import { isVmBackendError } from '../../domain/vm/errors.js';
import type { VmName } from '../../domain/vm/port.js';
import { grabToggleFor, inputObjectId } from '../../backends/qmp/input-object.js';
import type { InputRelayPort, RelayHandle } from '../../host/input/relay.js';

export interface InputFollowerDeps {
  config: BatonConfig;
  relay: InputRelayPort;
  backendFor: BackendFor;
  log: (line: string) => void;
}

interface Relaying {
  handle: RelayHandle;
  alive: boolean;
}

export class InputFollower implements InputPort {
  private readonly relays = new Map<string, Relaying>();
  /** The VM that has (or may have, after a failure halfway) each GPU's input objects. */
  private readonly attached = new Map<string, VmName>();
  private chord: ((gpu: string) => void) | null = null;

  constructor(private readonly deps: InputFollowerDeps) {}

  holder(gpu: string): VmName | null {
    return this.relays.get(gpu)?.alive ? this.attached.get(gpu) ?? null : null;
  }

  onChord(handler: (gpu: string) => void): void {
    this.chord = handler;
  }

  async follow(gpu: string, vm: VmName | null): Promise<void> {
    const current = this.attached.get(gpu) ?? null;
    const relay = this.relays.get(gpu);
    if (vm === null) {
      if (current) await this.detach(gpu, current);
      this.attached.delete(gpu);
      await this.stop(gpu);
      return;
    }
    if (current === vm && relay?.alive) return;
    const backend = this.deps.backendFor(vm);
    const inputs = backend.inputs;
    if (!inputs) throw new Error(`${vm} runs on ${backend.hypervisor}, which cannot take an evdev input; move a USB controller with the GPU instead (movablePeers)`);
    const running = relay?.alive ? relay : await this.start(gpu);
    if (current && current !== vm) await this.detach(gpu, current);
    this.attached.set(gpu, vm); // before the first add: a failure halfway leaves ids to remove
    const toggle = grabToggleFor(this.deps.config.inputs.returnChord.keys);
    for (const device of running.handle.devices) {
      const id = inputObjectId(device.name);
      await inputs.remove(vm, id); // a stale object of a relay that died
      await inputs.add(vm, { id, evdev: device.node, ...(toggle ? { grabToggle: toggle } : {}) });
    }
  }

  /** Stops every relay (the helper is stopping): each grab is released. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.relays.keys()].map((gpu) => this.stop(gpu)));
  }

  private async start(gpu: string): Promise<Relaying> {
    await this.stop(gpu);
    const devices = inputsOfGpu(this.deps.config, gpu).map((d) => ({ name: d.name, path: d.path }));
    if (!devices.length) throw new Error(`no inputs follow ${gpu}`);
    const chord = this.deps.config.inputs.returnChord.keys.map((k) => KEY_CODES[k]).filter((c): c is number => c !== undefined);
    const handle = await this.deps.relay.start({
      devices, chord,
      // A node child: its start-up is slow on a loaded machine (seconds under emulation in the lab).
      readyDeadlineMs: 20_000,
      onChord: () => this.chord?.(gpu),
      onLost: (name) => this.deps.log(`${gpu}: input ${name} went away (unplugged?); the guest was told its keys are up`),
    });
    const relaying: Relaying = { handle, alive: true };
    this.relays.set(gpu, relaying);
    void handle.exited.then(({ code, signal }) => {
      if (!relaying.alive) return;
      relaying.alive = false;
      this.deps.log(`${gpu}: the input relay exited (${signal ?? `code ${code}`}); the host has the inputs again`);
    });
    return relaying;
  }

  private async stop(gpu: string): Promise<void> {
    const relaying = this.relays.get(gpu);
    if (!relaying) return;
    this.relays.delete(gpu);
    relaying.alive = false;
    const latency = await relaying.handle.stop();
    if (latency?.frames) this.deps.log(`${gpu}: input relay stopped after ${latency.frames} frames, its own time per frame p50 ${latency.p50Us} µs, p99 ${latency.p99Us} µs`);
  }

  /** Removes the input objects from `vm`; a VM that is gone or off took them with it. */
  private async detach(gpu: string, vm: VmName): Promise<void> {
    const inputs = this.deps.backendFor(vm).inputs;
    if (!inputs) return;
    for (const d of inputsOfGpu(this.deps.config, gpu)) {
      try {
        await inputs.remove(vm, inputObjectId(d.name));
      } catch (err) {
        if (isVmBackendError(err) && (err.kind === 'not-running' || err.kind === 'not-found' || err.kind === 'connection-lost')) continue;
        throw err;
      }
    }
  }
}
