// Who owns each configured GPU, as Baton last left it (libvirt's hostdev manager keeps the same):
// the owner, the functions the GPU consists of, since when, and for a VM owner whether the VM runs.
import { z } from 'zod';
import { isCanonicalPciAddress, type PciAddress } from '../pci-address.js';

/**
 * 'host' (host drivers), 'park' (vfio-pci, owned by no one) or a VM name; or, when no one can say,
 * 'lost' (everything failed; `reason` says what was last seen) or 'wedged' (a kernel write for the
 * GPU never returned). A lost or wedged GPU is moved by no request until a reconcile or a restart
 * sees where it is.
 */
export type Owner = string;
export const HOST = 'host';
export const PARK = 'park';
export const LOST = 'lost';
export const WEDGED = 'wedged';
export type UncertainOwner = typeof LOST | typeof WEDGED;

export function isUncertain(owner: Owner): owner is UncertainOwner {
  return owner === LOST || owner === WEDGED;
}

export function isVmOwner(owner: Owner): boolean {
  return owner !== HOST && owner !== PARK && !isUncertain(owner);
}

/** active: in use by a running VM; inactive: assigned to a VM that is shut off. Only VM owners have one. */
export type VmAssignmentState = 'active' | 'inactive';

const pciAddress = z.custom<PciAddress>((v) => typeof v === 'string' && isCanonicalPciAddress(v), 'expected a PCI address DDDD:BB:DD.F');

export const ownershipRecordSchema = z
  .strictObject({
    owner: z.string().min(1),
    functions: z.array(pciAddress).min(1),
    since: z.iso.datetime({ offset: true }),
    state: z.enum(['active', 'inactive']).optional(),
    /** Why the owner is lost or wedged, with the state last observed. */
    reason: z.string().min(1).optional(),
  })
  .superRefine((r, ctx) => {
    if (isVmOwner(r.owner) && r.state === undefined) ctx.addIssue({ code: 'custom', path: ['state'], message: `a VM owner (${r.owner}) needs a state: active or inactive` });
    if (!isVmOwner(r.owner) && r.state !== undefined) ctx.addIssue({ code: 'custom', path: ['state'], message: `only a VM owner has a state, not ${r.owner}` });
    if (isUncertain(r.owner) && r.reason === undefined) ctx.addIssue({ code: 'custom', path: ['reason'], message: `a ${r.owner} GPU needs the reason` });
  });

export const ownershipRegistrySchema = z.strictObject({
  version: z.literal(1),
  /** Keyed by the GPU's name in the config. */
  gpus: z.record(z.string().min(1), ownershipRecordSchema),
});

export type OwnershipRecord = z.output<typeof ownershipRecordSchema>;
export type OwnershipRegistry = z.output<typeof ownershipRegistrySchema>;

export function emptyRegistry(): OwnershipRegistry {
  return { version: 1, gpus: {} };
}

export function describeOwner(owner: Owner): string {
  if (owner === LOST) return 'lost (no one can say where it is)';
  if (owner === WEDGED) return 'wedged (a kernel write for it never returned)';
  return owner === HOST ? 'the host' : owner === PARK ? 'park (vfio-pci, no owner)' : `VM ${owner}`;
}
