// Why a handoff did not happen, in words a user can act on.
import type { PciAddress } from '../../domain/pci-address.js';

/** The handoff was refused before anything changed. */
export class HandoffRefused extends Error {
  constructor(readonly address: PciAddress, readonly reasons: string[]) {
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
}
