// The shape of baton.yaml. Every object is strict, so a misspelt key is an error, not a silent default.
// Rules that span fields or entries (duplicates, references) live in checks.ts.
import { z } from 'zod';
import type { PciAddress } from '../pci-address.js';
import { gpuInputs, inputsSection } from './inputs.js';
import { absolutePath, connector, deviceSerial, hexId, label, name, pciAddress, shortcutKeys, subsystemId } from './fields.js';
import { ACQUIRE_METHODS, BACKENDS, RELEASE_METHODS, RESET_METHODS } from './names.js';

// The names live apart (names.ts) so that importing them does not build this schema.
export { ACQUIRE_METHODS, BACKENDS, CYCLE_TARGET, DEFAULT_CONFIG_PATH, OWNER_STATE_NAMES, RELEASE_METHODS, RESERVED_TARGETS, RESET_METHODS } from './names.js';

// --- GPUs ---

const gpuMatchInput = z.strictObject({
  address: pciAddress.optional(),
  vendor: hexId.optional(),
  device: hexId.optional(),
  subsystem: subsystemId.optional(),
  /** The PCIe Device Serial Number (lspci -vv "Device Serial Number"), read from config space by root. */
  serial: deviceSerial.optional(),
});

export type GpuMatch =
  | { by: 'address'; address: PciAddress }
  | { by: 'ids'; vendor: string; device: string; subsystem?: string; serial?: string };

/** A GPU is found either at a fixed address, or by its ids wherever it sits (a re-slotted card). */
const gpuMatch = gpuMatchInput.transform((m, ctx): GpuMatch => {
  const byIds = m.vendor !== undefined || m.device !== undefined || m.subsystem !== undefined || m.serial !== undefined;
  if (m.address !== undefined) {
    if (!byIds) return { by: 'address', address: m.address };
    ctx.addIssue({ code: 'custom', message: 'use either address or vendor/device ids, not both' });
    return z.NEVER;
  }
  if (m.vendor === undefined || m.device === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: byIds ? 'matching by ids needs both vendor and device' : 'needs address: DDDD:BB:DD.F, or vendor and device ids',
    });
    return z.NEVER;
  }
  return {
    by: 'ids',
    vendor: m.vendor,
    device: m.device,
    ...(m.subsystem !== undefined && { subsystem: m.subsystem }),
    ...(m.serial !== undefined && { serial: m.serial }),
  };
});

export type VbiosSource = { source: 'file'; file: string } | { source: 'capture' };

const vbios = z
  .strictObject({ file: absolutePath.optional(), capture: z.boolean().optional() })
  .transform((v, ctx): VbiosSource => {
    if (v.file !== undefined && v.capture) {
      ctx.addIssue({ code: 'custom', message: 'use either file or capture, not both' });
      return z.NEVER;
    }
    if (v.file !== undefined) return { source: 'file', file: v.file };
    if (v.capture) return { source: 'capture' };
    ctx.addIssue({ code: 'custom', message: 'needs file: /path/to.rom or capture: true (leave vbios out to use the card\'s own ROM)' });
    return z.NEVER;
  });

const gpu = z.strictObject({
  name,
  match: gpuMatch,
  reset: z.enum(RESET_METHODS).default('auto'),
  vbios: vbios.optional(),
  /** Other functions (HDA, USB-C) that move with the GPU, beyond those found in its IOMMU group. */
  movablePeers: z.array(pciAddress).default([]),
  /** The GPU drives the console: release the framebuffer and fbcon before taking it. */
  allowBootVga: z.boolean().default(false),
  loadVfioModule: z.boolean().default(true),
  /** The driver the GPU's display function is bound to when it returns to the host (its other
   *  functions go back to the drivers they had); by default the one it had before it left. In a Xen
   *  dom0, xl pci-assignable-remove -r rebinds the driver xl remembered, and this is not used. */
  hostDriver: z.string().regex(/^[a-z0-9_-]+$/, 'expected a kernel driver name like amdgpu or nvidia').optional(),
  /** DRM connectors wired to this GPU (monitors can also name their GPU). */
  monitors: z.array(connector).default([]),
  /** Names from inputs.devices that follow this GPU into a VM (default: inputs.follow). */
  inputs: gpuInputs,
});

// --- VMs ---

const releaseSpec = z.strictObject({
  method: z.enum(RELEASE_METHODS).default('hot-unplug'),
  /** How long the guest gets to let go (unplug ack, shutdown) before the move is abandoned; the VM keeps running and keeps the GPU. */
  timeoutSeconds: z.number().int().min(1).max(3600).default(30),
  /**
   * shutdown only: power the VM off by force when the guest has not shut down this many seconds
   * after the request (unsaved work in the guest is lost). Without it a shutdown is only a request.
   * When set, it replaces timeoutSeconds as the wait.
   */
  forceAfterSeconds: z.number().int().min(1).max(3600).optional(),
});

/** `release: shutdown` is shorthand for `release: { method: shutdown }`. */
const release = z.preprocess((v) => (typeof v === 'string' ? { method: v } : v), releaseSpec);

const guestSlot = z.strictObject({
  /** Guest bus (a q35 root port id such as "rp1"); hot-plug on q35 needs one, pcie.0 cannot hot-plug. */
  bus: z.string().min(1).optional(),
  addr: z.number().int().min(0).max(31).default(0),
});

const startCommand = z.strictObject(
  {
    argv: z
      .array(z.string().min(1), { error: (iss) => (iss.code === 'invalid_type' && typeof iss.input === 'string' ? 'expected a list of arguments, not a shell command string' : undefined) })
      .min(1)
      .superRefine((argv, ctx) => {
        // The helper runs as root; a bare program name would be looked up in whatever PATH it inherited.
        if (argv[0] !== undefined && !argv[0].startsWith('/')) {
          ctx.addIssue({ code: 'custom', path: [0], message: `${JSON.stringify(argv[0])} must be an absolute path to the program` });
        }
      }),
    /** The working folder of the started VM process (default /). */
    cwd: absolutePath.optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' && typeof iss.input === 'string' ? 'expected { argv: [program, arg, ...] }, not a shell command string' : undefined) },
);

const vmCommon = {
  name,
  release: release.prefault({}),
  acquire: z.enum(ACQUIRE_METHODS).default('hot-plug'),
  guestSlot: guestSlot.optional(),
  /** Guest slots, in order, for the devices of other host slots that move with a GPU (movablePeers
   *  outside it, such as a USB controller). QEMU needs one per device; libvirt and Xen pick a free
   *  one when none is given. */
  peerSlots: z.array(guestSlot).max(8).optional(),
};

const LIBVIRT_URI = /^(?:qemu|xen|libxl)(?:\+(?:ssh|libssh|libssh2|tcp|tls|unix|ext))?:\/\/[^/\s]*\/(?:system|session)(?:\?\S*)?$/;

const qmpVm = z.strictObject({
  ...vmCommon,
  backend: z.literal('qmp'),
  socket: absolutePath,
  start: startCommand.optional(),
});

const libvirtVm = z.strictObject({
  ...vmCommon,
  backend: z.literal('libvirt'),
  uri: z
    .string()
    .regex(LIBVIRT_URI, 'expected a libvirt URI such as qemu:///system or qemu+ssh://host/system')
    .default('qemu:///system'),
  /** The libvirt domain name; defaults to the VM's name. */
  domain: z.string().min(1).optional(),
});

const xenVm = z.strictObject({
  ...vmCommon,
  backend: z.literal('xen'),
  /** The xl domain name; defaults to the VM's name. */
  domain: z.string().min(1).optional(),
  /** The xl domain config file, for acquire: start (`xl create FILE`). */
  configFile: absolutePath.optional(),
});

const vm = z
  .discriminatedUnion('backend', [qmpVm, libvirtVm, xenVm])
  .transform((v) => (v.backend === 'qmp' ? v : { ...v, domain: v.domain ?? v.name }));

// --- monitors ---

const I2C_MESSAGE = 'expected an i2c bus number or /dev/i2c-N';
const ddcBus = z
  .union([z.number().int().min(0), z.string().regex(/^\/dev\/i2c-[0-9]+$/, I2C_MESSAGE)], { error: () => I2C_MESSAGE })
  .transform((b) => (typeof b === 'number' ? b : Number(b.slice('/dev/i2c-'.length))));

const monitor = z.strictObject({
  connector,
  name: label,
  gpu: name.optional(),
  ddc: z
    .strictObject({
      /** i2c bus; found from the connector's ddc link when left out. */
      bus: ddcBus.optional(),
      /** VCP 0x60 (input source) value per target: a VM name or "host". */
      inputs: z.record(z.string(), z.number().int().min(1).max(255)),
    })
    .optional(),
});

// --- shortcuts and helper ---

const shortcut = z.strictObject({
  keys: shortcutKeys,
  /** Which GPU to move; may be left out when only one GPU is configured. */
  gpu: name.optional(),
  /** A VM name, "host", "park" (bound to vfio-pci, owned by no one) or "cycle" (the GPU's next target). */
  target: z.string().min(1),
});

const POSIX_USER = /^[a-z_][a-z0-9_-]*\$?$/;

const helper = z.strictObject({
  socket: absolutePath.default('/run/baton/helper.sock'),
  /** Members of this group may talk to the helper. */
  group: z.string().regex(POSIX_USER, 'expected a group name').default('baton'),
  /** Further users (names or uids) allowed to talk to the helper. */
  users: z.array(z.union([z.number().int().min(0), z.string().regex(POSIX_USER, 'expected a user name (lower case, no spaces) or a uid')])).default([]),
  vbiosStore: absolutePath.default('/var/lib/baton/vbios'),
  /** Write-ahead journal of the move in progress, replayed after a crash. */
  journal: absolutePath.default('/var/lib/baton/journal.json'),
  history: z
    .strictObject({
      file: absolutePath.default('/var/lib/baton/history.jsonl'),
      maxEntries: z.number().int().min(0).default(1000),
    })
    .prefault({}),
});

export const configSchema = z.strictObject({
  version: z.literal(1).default(1),
  helper: helper.prefault({}),
  gpus: z.array(gpu).default([]),
  vms: z.array(vm).default([]),
  monitors: z.array(monitor).default([]),
  shortcuts: z.array(shortcut).default([]),
  /** Keyboards and mice that follow a GPU into a VM, and the chord that brings it back. */
  inputs: inputsSection.prefault({}),
});

export type BatonConfig = z.output<typeof configSchema>;
export type GpuConfig = BatonConfig['gpus'][number];
export type VmConfig = BatonConfig['vms'][number];
export type MonitorConfig = BatonConfig['monitors'][number];
export type ShortcutConfig = BatonConfig['shortcuts'][number];
export type HelperConfig = BatonConfig['helper'];
export type ResetMethod = (typeof RESET_METHODS)[number];
export type Backend = (typeof BACKENDS)[number];
