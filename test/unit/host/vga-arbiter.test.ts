import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../app/domain/pci-address.js';
import { parseArbiterState, withVgaLock } from '../../../app/host/vga/arbiter.js';
import { VgaLockHolders } from '../../../app/host/vga/lock-holder.js';

describe('VGA arbiter', () => {
  it('parses the kernel 6.1 state line and the older form without count', () => {
    expect(parseArbiterState('count:3,PCI:0000:01:00.0,decodes=io+mem,owns=io+mem,locks=none(0:0)\n')).toEqual({ count: 3, device: '0000:01:00.0', decodes: 'io+mem', owns: 'io+mem', locks: 'none' });
    expect(parseArbiterState('PCI:0000:00:02.0,decodes=none,owns=none,locks=none(0:0)')).toMatchObject({ count: 1, decodes: 'none' });
    expect(parseArbiterState('invalid')).toBeNull();
  });

  it('runs the work without a lock, and says so, when the kernel has no arbiter', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'baton-vga-')), 'vga_arbiter');
    const r = await withVgaLock('0000:01:00.0' as PciAddress, async () => 42, new VgaLockHolders(), { path: missing });
    expect(r).toEqual({ value: 42, arbiter: { kind: 'no-arbiter' } });
  });
});
