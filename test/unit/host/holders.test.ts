import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeHolders, findGroupHolders, vmNameFromArgv } from '../../../app/host/vfio/holders.js';

function fakeProc(processes: { pid: number; comm: string; argv: string[]; fds: string[] }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'baton-proc-'));
  for (const p of processes) {
    mkdirSync(join(root, String(p.pid), 'fd'), { recursive: true });
    writeFileSync(join(root, String(p.pid), 'comm'), `${p.comm}\n`);
    writeFileSync(join(root, String(p.pid), 'cmdline'), p.argv.join('\0') + '\0');
    p.fds.forEach((target, i) => symlinkSync(target, join(root, String(p.pid), 'fd', String(i))));
  }
  mkdirSync(join(root, 'self'));
  return root;
}

describe('VFIO group holders', () => {
  it('finds the process holding /dev/vfio/N and the VM it runs', () => {
    const proc = fakeProc([
      { pid: 4242, comm: 'qemu-system-x86', argv: ['qemu-system-x86_64', '-name', 'guest=win11,debug-threads=on', '-device', 'vfio-pci,host=0000:01:00.0'], fds: ['/dev/null', '/dev/vfio/vfio', '/dev/vfio/12'] },
      { pid: 77, comm: 'bash', argv: ['bash'], fds: ['/dev/pts/0'] },
      { pid: 78, comm: 'other-vm', argv: ['qemu-system-x86_64', '-name', 'linux'], fds: ['/dev/vfio/13'] },
    ]);
    const holders = findGroupHolders(12, proc);
    expect(holders).toHaveLength(1);
    expect(holders[0]).toMatchObject({ pid: 4242, command: 'qemu-system-x86', vmName: 'win11' });
    expect(describeHolders(holders)).toBe('qemu-system-x86 (pid 4242, VM win11)');
    expect(findGroupHolders(14, proc)).toEqual([]);
  });

  it('takes the VM name from -name in either form', () => {
    expect(vmNameFromArgv(['qemu', '-name', 'guest=vm-a,debug-threads=on'])).toBe('vm-a');
    expect(vmNameFromArgv(['qemu', '-name', 'vm-b'])).toBe('vm-b');
    expect(vmNameFromArgv(['qemu', '-m', '128'])).toBeNull();
    expect(() => findGroupHolders(-3)).toThrow(RangeError);
  });
});
