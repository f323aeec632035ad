// The emulated machines the labs boot, as data: which devices sit where, and which address plays
// which role (so tests can name "GPU A" instead of repeating addresses).

export interface QemuDevice {
  driver: string;
  props: Record<string, string | number | boolean>;
}

export interface Topology {
  name: string;
  description: string;
  devices: QemuDevice[];
  /** Other QEMU options the devices need (backends). */
  extraArgs: string[];
  /** Role → PCI address as the L1 kernel enumerates it. */
  roles: Record<string, string>;
}

const audio = ['-audiodev', 'none,id=lab-audio'];
const rootPort = (id: string, slot: number): QemuDevice => ({
  driver: 'pcie-root-port',
  props: { id, bus: 'pcie.0', addr: `0x${slot.toString(16)}`, chassis: slot, slot },
});
const hdaWithCodec = (id: string, bus: string, addr: string): QemuDevice[] => [
  { driver: 'ich9-intel-hda', props: { id, bus, addr } },
  { driver: 'hda-output', props: { bus: `${id}.0`, audiodev: 'lab-audio' } },
];

/**
 * A host with its own boot VGA on the root bus, two passthrough-able GPUs, each with its HDMI audio
 * function behind its own root port, and a NIC alone in its IOMMU group.
 */
export const workstation: Topology = {
  name: 'workstation',
  description: 'boot VGA 00:01.0 on the root bus; GPU A = VGA + HDA at 01:00.0/.1 (root port 00:02.0); ' +
    'GPU B = bochs-display + HDA at 02:00.0/.1 (root port 00:03.0); e1000e NIC at 03:00.0 (root port 00:04.0)',
  devices: [
    { driver: 'VGA', props: { bus: 'pcie.0', addr: '0x1', edid: true, xres: 1024, yres: 768 } },
    rootPort('rp-gpu-a', 2),
    { driver: 'VGA', props: { bus: 'rp-gpu-a', addr: '0x0.0x0', multifunction: true, edid: true, xres: 1920, yres: 1080 } },
    ...hdaWithCodec('hda-gpu-a', 'rp-gpu-a', '0x0.0x1'),
    rootPort('rp-gpu-b', 3),
    { driver: 'bochs-display', props: { bus: 'rp-gpu-b', addr: '0x0.0x0', multifunction: true, edid: true, xres: 2560, yres: 1440 } },
    ...hdaWithCodec('hda-gpu-b', 'rp-gpu-b', '0x0.0x1'),
    rootPort('rp-nic', 4),
    { driver: 'e1000e', props: { bus: 'rp-nic', addr: '0x0', netdev: 'lab-net' } },
  ],
  extraArgs: [...audio, '-netdev', 'user,id=lab-net,restrict=on'],
  roles: {
    bootVga: '0000:00:01.0',
    gpuA: '0000:01:00.0', gpuAAudio: '0000:01:00.1',
    gpuB: '0000:02:00.0', gpuBAudio: '0000:02:00.1',
    nic: '0000:03:00.0',
  },
};

/**
 * A four-function GPU (VGA, HDA, xHCI, serial) in one group behind a root port, and a display
 * device behind a PCIe-to-PCI bridge that shares its IOMMU group with a NIC. The host keeps a
 * boot VGA on the root bus, as in "workstation".
 */
export const dense: Topology = {
  name: 'dense',
  description: 'boot VGA 00:01.0; GPU = VGA/HDA/xHCI/serial at 01:00.0-3 (root port 00:02.0); ' +
    'pcie-pci-bridge 02:00.0 (root port 00:03.0) with bochs-display 03:01.0 and e1000 NIC 03:02.0 in one group',
  devices: [
    { driver: 'VGA', props: { bus: 'pcie.0', addr: '0x1', edid: true } },
    rootPort('rp-gpu', 2),
    { driver: 'VGA', props: { bus: 'rp-gpu', addr: '0x0.0x0', multifunction: true, edid: true, xres: 1920, yres: 1200 } },
    ...hdaWithCodec('hda-gpu', 'rp-gpu', '0x0.0x1'),
    { driver: 'qemu-xhci', props: { bus: 'rp-gpu', addr: '0x0.0x2' } },
    { driver: 'pci-serial', props: { bus: 'rp-gpu', addr: '0x0.0x3', chardev: 'lab-null' } },
    rootPort('rp-bridge', 3),
    { driver: 'pcie-pci-bridge', props: { id: 'pci-bridge', bus: 'rp-bridge', addr: '0x0' } },
    { driver: 'bochs-display', props: { bus: 'pci-bridge', addr: '0x1', edid: true } },
    { driver: 'e1000', props: { bus: 'pci-bridge', addr: '0x2', netdev: 'lab-net' } },
  ],
  extraArgs: [...audio, '-chardev', 'null,id=lab-null', '-netdev', 'user,id=lab-net,restrict=on'],
  roles: {
    bootVga: '0000:00:01.0',
    gpu: '0000:01:00.0', gpuAudio: '0000:01:00.1', gpuUsb: '0000:01:00.2', gpuSerial: '0000:01:00.3',
    bridge: '0000:02:00.0', bridgedDisplay: '0000:03:01.0', bridgedNic: '0000:03:02.0',
  },
};

export const topologies = { workstation, dense } as const;
export type ShapeName = keyof typeof topologies;

export function deviceArgs(topology: Topology): string[] {
  const args = [...topology.extraArgs];
  for (const d of topology.devices) {
    const props = Object.entries(d.props).map(([k, v]) => `${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)}`);
    args.push('-device', [d.driver, ...props].join(','));
  }
  return args;
}
