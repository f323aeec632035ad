// The engine records `wedged` for a stuck kernel call however the host adapter wraps it.
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { isWedged } from '../../../app/helper/engine/deadline.js';
import { KernelWriteError, KernelWriteTimeout } from '../../../app/host/kernel/kernel-writer.js';
import { ResetFailed } from '../../../app/host/reset/reset.js';
import { RomError } from '../../../app/host/rom/errors.js';

const GPU = '0000:01:00.0' as PciAddress;
const stuck = () => new KernelWriteTimeout('/sys/bus/pci/drivers/vfio-pci/unbind', GPU, 100, true, Promise.resolve({ kind: 'child-gone' as const }), undefined, GPU);
const wedgedCode = Object.assign(new Error('the kernel writer is wedged'), { code: 'EWEDGED' });

describe('isWedged', () => {
  it('sees EWEDGED and a timeout that left the call in the kernel, bare or wrapped in ResetFailed / RomError causes', () => {
    for (const inner of [stuck(), wedgedCode]) {
      expect(isWedged(inner)).toBe(true);
      expect(isWedged(new ResetFailed(GPU, 'flr', 'stuck', 'ETIMEDOUT', inner))).toBe(true);
      expect(isWedged(new RomError('ROM read failed', [], undefined, new Error('outer', { cause: inner })))).toBe(true);
    }
  });
  it('is false for a plain failure or a timeout that never started', () => {
    expect(isWedged(new KernelWriteError('/sys/x', '1', 'EBUSY', 'busy'))).toBe(false);
    expect(isWedged(new ResetFailed(GPU, 'flr', 'x', 'ETIMEDOUT', new KernelWriteTimeout('/sys/x', '1', 100, false)))).toBe(false);
    expect(isWedged(new Error('x'))).toBe(false);
  });
});
