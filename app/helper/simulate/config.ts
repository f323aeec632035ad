// The baton.yaml of the simulated workstation, checked by the real parser, so the helper can run
// from it alone (`baton helper --simulate`).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError, parseConfig, type BatonConfig } from '../../domain/config/index.js';

export interface SimulatedConfigOptions {
  /** Folder for the helper's socket, journal, history and VBIOS store (defaults: the system paths). */
  stateDir?: string;
}

export function simulatedConfigYaml(options: SimulatedConfigOptions = {}): string {
  const helper = options.stateDir === undefined ? '' : `
helper:
  socket: ${options.stateDir}/helper.sock
  vbiosStore: ${options.stateDir}/vbios
  journal: ${options.stateDir}/journal.json
  history:
    file: ${options.stateDir}/history.jsonl
`;
  return `# The simulated workstation (the KVM lab's "workstation" shape): two GPUs, three VMs.
version: 1
${helper}
gpus:
  - name: gpu-a
    match: { address: "0000:01:00.0" }
    reset: auto
    monitors: [card1-Virtual-2]
  - name: gpu-b
    match: { address: "0000:02:00.0" }
    reset: auto
    monitors: [card2-Virtual-3]

vms:
  - name: win11
    backend: qmp
    socket: /run/baton/sim/win11.qmp
    start: { argv: [/usr/bin/qemu-system-x86_64, -name, win11] }
    guestSlot: { bus: rp1, addr: 0 }
    release: { method: hot-unplug, timeoutSeconds: 20 }
  - name: linux-dev
    backend: libvirt
    uri: qemu:///system
    guestSlot: { bus: pci.7, addr: 0 }
  - name: vm-xen
    backend: xen
    acquire: start
    release: shutdown

monitors:
  - connector: card1-Virtual-2
    name: Left (QEMU Monitor 1920x1080)
    gpu: gpu-a
    ddc: { bus: 5, inputs: { host: 15, win11: 17, linux-dev: 17 } }
  - connector: card2-Virtual-3
    name: Right (QEMU Monitor 2560x1440)
    gpu: gpu-b

shortcuts:
  - { keys: Super+Alt+1, gpu: gpu-a, target: win11 }
  - { keys: Super+Alt+2, gpu: gpu-a, target: linux-dev }
  - { keys: Super+Alt+H, gpu: gpu-a, target: host }
  - { keys: Super+Alt+3, gpu: gpu-b, target: vm-xen }
  - { keys: Super+Alt+P, gpu: gpu-b, target: park }
`;
}

export function simulatedConfig(options: SimulatedConfigOptions = {}): BatonConfig {
  const result = parseConfig(simulatedConfigYaml(options), 'simulated-workstation.yaml');
  if (!result.ok) throw new Error(`the simulated config does not parse:\n${result.errors.map(formatConfigError).join('\n')}`);
  return result.config;
}

/** The simulated workstation's config with its socket and state in a per-user temp folder (no root needed). */
export function simulatedConfigFor(): BatonConfig {
  return simulatedConfig({ stateDir: join(tmpdir(), `baton-sim-${process.getuid?.() ?? 'user'}`) });
}
