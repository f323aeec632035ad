// Why a handoff did not happen, in words a user can act on. `code` carries the cause's stable code
// where it has one: EINUSE (a process holds the GPU's VFIO nodes, nothing was touched), EWEDGED (the
// GPU's kernel writer has a call stuck in the kernel), ETIMEDOUT, or an errno name.
import type { PciAddress } from '../../domain/pci-address.js';

/** The handoff was refused before anything changed. */
export class HandoffRefused extends Error {
  constructor(readonly address: PciAddress, readonly reasons: string[], readonly code?: string) {
    super(`${address}: refused: ${reasons.join('; ')}`);
    this.name = 'HandoffRefused';
  }
}

/** A step failed; `rolledBack` says what was undone, `rollbackErrors` what could not be. */
export class HandoffFailed extends Error {
  constructor(
    readonly address: PciAddress,
    readonly step: string,
    override readonly cause: Error,
    readonly rolledBack: string[] = [],
    readonly rollbackErrors: string[] = [],
  ) {
    super(`${address}: ${step} failed: ${cause.message}${rollbackErrors.length ? `; rollback incomplete: ${rollbackErrors.join('; ')}` : rolledBack.length ? '; rolled back' : ''}`);
    this.name = 'HandoffFailed';
  }

  /** The failed call's code (EINUSE, EWEDGED, ETIMEDOUT, EBUSY, ...), when it has one. */
  get code(): string | undefined {
    const code = (this.cause as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
}
