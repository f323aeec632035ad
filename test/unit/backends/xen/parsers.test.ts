// The Xen parsers against real xl / xenstore output from the Xen lab (test/fixtures/xen/) and against
// malformed input.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  XenFormatError, describePciBackend, parseAssignableList, parseXenstoreLs, parseXlList, parseXlListLong, parseXlPciList,
  pciBackendFromEntries, pciBackendsFromEntries, vmStateFromFlags, xenbusState,
} from '../../../../app/backends/xen/parsers.js';
import { backendNotReady, mapXlError, xlMessages } from '../../../../app/backends/xen/xl.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/xen');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('xl list', () => {
  it('reads every domain of the real output, with its flags', () => {
    expect(parseXlList(fixture('xl-list.txt'))).toEqual([
      { name: 'Domain-0', domid: 0, memMb: 1536, vcpus: 2, flags: 'r-----', timeS: 74.6 },
      { name: 'vm-a', domid: 1, memMb: 256, vcpus: 1, flags: '-b----', timeS: 11.2 },
      { name: 'vm-b', domid: 2, memMb: 256, vcpus: 1, flags: '-b----', timeS: 8.1 },
    ]);
    expect(parseXlList(fixture('xl-list-paused.txt')).find((d) => d.name === 'vm-a')?.flags).toBe('--p---');
  });

  it('keeps spaces in names (the five last columns are fixed)', () => {
    const text = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\nmy guest  7   512     2     -b----       1.0\n';
    expect(parseXlList(text)[0]).toMatchObject({ name: 'my guest', domid: 7 });
  });

  it('maps flags to states: blocked and runnable are running; crashed, dying and shut down outrank paused', () => {
    expect(vmStateFromFlags('r-----')).toBe('running');
    expect(vmStateFromFlags('-b----')).toBe('running');
    expect(vmStateFromFlags('------')).toBe('running');
    expect(vmStateFromFlags('--p---')).toBe('paused');
    expect(vmStateFromFlags('---s--')).toBe('shut-off');
    expect(vmStateFromFlags('--p--d')).toBe('shut-off');
    expect(vmStateFromFlags('--psc-')).toBe('crashed');
    expect(vmStateFromFlags('xyz')).toBe('unknown');
  });

  it('rejects output that is not xl list', () => {
    expect(() => parseXlList('')).toThrow(XenFormatError);
    expect(() => parseXlList('Name ID\nvm-a 1\n')).toThrow(/header/);
    expect(() => parseXlList(`${fixture('xl-list.txt')}vm-c 3 256 1 -b-x-- 1.0\n`)).toThrow(/vm-c/);
    expect(() => parseXlList(`${fixture('xl-list.txt')}vm-c\n`)).toThrow(/fewer than 6/);
  });
});

describe('xl list -l', () => {
  it('reads domid, name and type of every domain', () => {
    expect(parseXlListLong(fixture('xl-list-l.json')).map(({ domid, name, type, pcidevs }) => ({ domid, name, type, pcidevs }))).toEqual([
      { domid: 0, name: 'Domain-0', type: 'pv', pcidevs: [] },
      { domid: 1, name: 'vm-a', type: 'pv', pcidevs: [] },
      { domid: 2, name: 'vm-b', type: 'pv', pcidevs: [] },
    ]);
  });

  it('fills the pcidevs fields xl leaves out (0) to a full address', () => {
    expect(parseXlListLong(fixture('xl-list-l-vm-a-attached.json'))[0]?.pcidevs).toEqual(['0000:01:00.0']);
  });

  it('rejects what is not the JSON form', () => {
    expect(() => parseXlListLong('(domain (domid 1))')).toThrow(/not JSON/);
    expect(() => parseXlListLong('{}')).toThrow(/array/);
    expect(() => parseXlListLong('[{"domid": 1}]')).toThrow(/config/);
    expect(() => parseXlListLong('[{"domid": 1, "config": {"c_info": {"name": "x"}, "pcidevs": [{"bus": "1"}]}}]')).toThrow(/bus/);
  });
});

describe('xl pci-list', () => {
  it('reads one function, two functions (PV: both Vdev 00.0) and the empty output', () => {
    expect(parseXlPciList(fixture('xl-pci-list-attached.txt'))).toEqual([{ vdev: '00.0', vslot: 0, vfunc: 0, device: '0000:01:00.0' }]);
    expect(parseXlPciList(fixture('xl-pci-list-two-functions.txt')).map((e) => `${e.vdev} ${e.device}`)).toEqual(['00.0 0000:01:00.0', '00.0 0000:01:00.1']);
    expect(fixture('xl-pci-list-empty.txt')).toBe('');
    expect(parseXlPciList(fixture('xl-pci-list-empty.txt'))).toEqual([]);
  });

  it('rejects a wrong header or row', () => {
    expect(() => parseXlPciList('Vdev Device\n00.0 01:00.0\n')).toThrow(/01:00.0/);
    expect(() => parseXlPciList('Device\n')).toThrow(/header/);
  });
});

describe('xl pci-assignable-list', () => {
  it('reads addresses with the trailing space of an empty name', () => {
    expect(parseAssignableList(fixture('xl-pci-assignable-list.txt'))).toEqual([
      { address: '0000:01:00.0', name: null }, { address: '0000:01:00.1', name: null },
    ]);
    expect(parseAssignableList(fixture('xl-pci-assignable-list-while-attached.txt')).map((d) => d.address)).toEqual(['0000:01:00.1']);
    expect(parseAssignableList('0000:01:00.0 gpu\n')).toEqual([{ address: '0000:01:00.0', name: 'gpu' }]);
    expect(parseAssignableList('')).toEqual([]);
  });

  it('rejects a line without an address', () => {
    expect(() => parseAssignableList('gpu 0000:01:00.0\n')).toThrow(XenFormatError);
  });
});

describe('xenstore ls -f of the PV PCI backend', () => {
  it('reads the attached backend: Connected, one function Initialised', () => {
    const backend = pciBackendFromEntries(parseXenstoreLs(fixture('xenstore-ls-backend-pci-attached.txt')), 1);
    expect(backend).toEqual({
      path: '/local/domain/0/backend/pci/1/0', domid: 1, exists: true,
      state: { code: 4, name: 'Connected' }, numDevs: 1,
      devices: [{ index: 0, address: '0000:01:00.0', state: { code: 3, name: 'Initialised' }, vdev: '0000:00:00.00' }],
    });
    expect(describePciBackend(backend)).toBe('state 4 Connected, num_devs 1, 0000:01:00.0 state-0 3 Initialised');
  });

  it('reads the half-done paused detach: Reconfiguring, the function Closing', () => {
    const backend = pciBackendFromEntries(parseXenstoreLs(fixture('xenstore-ls-backend-pci-paused-detach.txt')), 1);
    expect(describePciBackend(backend)).toBe('state 7 Reconfiguring, num_devs 1, 0000:01:00.0 state-0 5 Closing');
  });

  it('tells the two backends of the moved GPU apart: vm-a stale at Closing, vm-b with both functions', () => {
    const all = pciBackendsFromEntries(parseXenstoreLs(fixture('xenstore-ls-backend-pci-moved.txt')));
    expect(all.map((b) => b.domid)).toEqual([1, 2]);
    expect(all[0]?.devices.map((d) => d.state?.name)).toEqual(['Closing']);
    expect(all[1]?.numDevs).toBe(2);
    expect(all[1]?.devices.map((d) => [d.index, d.address, d.state?.name, d.vdev])).toEqual([
      [0, '0000:01:00.0', 'Initialised', '0000:00:00.00'], [1, '0000:01:00.1', 'Initialised', '0000:00:00.01'],
    ]);
  });

  it('an absent directory is an absent backend', () => {
    const backend = pciBackendFromEntries(new Map(), 3);
    expect(backend.exists).toBe(false);
    expect(describePciBackend(backend)).toBe('/local/domain/0/backend/pci/3/0 absent');
  });

  it('names every XenbusState, and flags codes outside 0-8', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((c) => xenbusState(String(c)).name)).toEqual([
      'Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured',
    ]);
    expect(xenbusState('9')).toEqual({ code: 9, name: 'Invalid' });
    expect(xenbusState('x')).toEqual({ code: -1, name: 'Invalid' });
  });

  it('rejects lines that are not xenstore-ls -f, a bad num_devs or dev-N', () => {
    expect(() => parseXenstoreLs('state = "4"\n')).toThrow(XenFormatError);
    const p = '/local/domain/0/backend/pci/1/0';
    expect(() => pciBackendFromEntries(new Map([[`${p}/num_devs`, 'two']]), 1)).toThrow(/num_devs/);
    expect(() => pciBackendFromEntries(new Map([[`${p}/dev-0`, 'gpu']]), 1)).toThrow(/dev-0/);
  });
});

describe('xl stderr', () => {
  it('strips libxl prefixes and finds the stalled backend of a paused detach', () => {
    const stderr = fixture('xl-pci-detach-paused.stderr.txt');
    expect(xlMessages(stderr)).toEqual([
      'write to /sys/bus/pci/devices/0000:01:00.0/reset returned -1: Inappropriate ioctl for device',
      'Backend /local/domain/0/backend/pci/1/0 not ready',
    ]);
    expect(backendNotReady(stderr)).toBe('Backend /local/domain/0/backend/pci/1/0 not ready');
    expect(backendNotReady(fixture('xl-pci-attach-reset-enotty.stderr.txt'))).toBeNull();
  });

  it('maps failures to typed errors, keeping the message verbatim', () => {
    const missing = mapXlError({ vm: 'vm-x', tool: 'xl pause', args: ['pause', 'vm-x'], exitCode: 1, stderr: 'vm-x is an invalid domain identifier (rc=-6)\n' });
    expect(missing.kind).toBe('not-found');
    expect(missing.hypervisorMessage).toBe('vm-x is an invalid domain identifier (rc=-6)');
    expect(missing.hypervisorErrorClass).toBe('exit 1');
    const noXen = mapXlError({ vm: 'vm-a', tool: 'xl list', args: ['list'], exitCode: 1, stderr: 'libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: No such file or directory\ncannot init xl context\n' });
    expect(noXen.kind).toBe('connection-lost');
    const spec = mapXlError({ vm: 'vm-a', tool: 'xl pci-attach', args: ['pci-attach', 'vm-a', 'zz'], exitCode: 2, stderr: 'pci-attach: malformed BDF "zz"\n' });
    expect(spec.kind).toBe('invalid-request');
    const other = mapXlError({ vm: 'vm-a', tool: 'xl pci-attach', args: ['pci-attach'], exitCode: 1, stderr: 'libxl: error: libxl_pci.c:1:f: xc_assign_device failed: Operation not supported\n' });
    expect(other.kind).toBe('command-failed');
    expect(other.message).toContain('xc_assign_device failed: Operation not supported');
  });
});
