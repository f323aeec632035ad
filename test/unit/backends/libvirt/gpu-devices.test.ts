// GPU request checks and the <hostdev> XML built from them (the vfio path needs the KVM lab to run live).
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { VmInvalidRequestError } from '../../../../app/domain/vm/errors.js';
import { parseDomainXml } from '../../../../app/backends/libvirt/domain-xml.js';
import { gpuAlias, gpuFunctions, guestBusNumber, hostdevXml, placeGpu } from '../../../../app/backends/libvirt/gpu-devices.js';
import { parseXml } from '../../../../app/backends/libvirt/xml.js';

const gpu = ['0000:0a:00.0', '0000:0a:00.1'] as PciAddress[];
const inDomain = (hostdevs: string) => `<domain id='3'><name>d</name><devices>${hostdevs}</devices></domain>`;

describe('hostdev XML', () => {
  it('slot-per-function: each function is function 0 of its own root port, ROM on function 0 only', () => {
    const placed = placeGpu(gpu, { bus: 'pci.3', slot: 0 }, [3, 4], 'slot-per-function', '/roms/gpu.rom');
    const xml = placed.map(hostdevXml).join('');
    expect(hostdevXml(placed[0]!)).toBe([
      `<hostdev mode='subsystem' type='pci' managed='no'>`,
      `  <driver name='vfio'/>`,
      `  <source><address domain='0x0000' bus='0x0a' slot='0x00' function='0x0'/></source>`,
      `  <rom bar='on' file='/roms/gpu.rom'/>`,
      `  <alias name='ua-baton-gpu-0000-0a-00-0'/>`,
      `  <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>`,
      `</hostdev>`,
    ].join('\n'));
    // Read back with the same parser the backend uses on libvirt's output.
    expect(parseDomainXml(inDomain(xml)).hostdevs).toEqual([
      { host: '0000:0a:00.0', alias: 'ua-baton-gpu-0000-0a-00-0', guest: { bus: 3, slot: 0, function: 0, multifunction: false } },
      { host: '0000:0a:00.1', alias: 'ua-baton-gpu-0000-0a-00-1', guest: { bus: 4, slot: 0, function: 0, multifunction: false } },
    ]);
    expect(xml.match(/<rom /g)).toHaveLength(1);
  });

  it('multifunction: one slot, functions kept, multifunction on function 0', () => {
    const placed = placeGpu(gpu, { bus: 'pci.2', slot: 0 }, [2], 'multifunction');
    expect(parseDomainXml(inDomain(placed.map(hostdevXml).join(''))).hostdevs.map((h) => h.guest)).toEqual([
      { bus: 2, slot: 0, function: 0, multifunction: true },
      { bus: 2, slot: 0, function: 1, multifunction: false },
    ]);
    // A single function needs no multifunction flag.
    expect(hostdevXml(placeGpu([gpu[0]!], { bus: 'pci.2', slot: 0 }, [2], 'multifunction')[0]!)).not.toContain('multifunction');
  });

  it('escapes the ROM path so it cannot break out of the attribute', () => {
    const rom = `/roms/a'b"<c>&d.rom`;
    const xml = hostdevXml(placeGpu([gpu[0]!], { bus: 'pci.1', slot: 0 }, [1], 'slot-per-function', rom)[0]!);
    const element = parseXml(xml);
    expect(element.children.find((c) => c.name === 'rom')?.attributes.file).toBe(rom);
    expect(element.children.map((c) => c.name)).toEqual(['driver', 'source', 'rom', 'alias', 'address']);
  });

  it('names devices with libvirt user aliases that map back to the host function', () => {
    expect(gpuAlias('0000:0a:00.1' as PciAddress)).toBe('ua-baton-gpu-0000-0a-00-1');
    expect(gpuAlias('10de:ff:1f.7' as PciAddress)).toBe('ua-baton-gpu-10de-ff-1f-7');
  });
});

describe('GPU request checks', () => {
  const check = (functions: string[], extra: object = {}) => () => gpuFunctions('vm-a', { functions: functions as PciAddress[], ...extra });

  it('accepts one slot, function 0 first', () => {
    expect(check(['0000:0a:00.0', '0000:0a:00.1'])()).toEqual(gpu);
  });

  it.each([
    ['nothing', [], {}],
    ['a loose address', ['0a:00.0'], {}],
    ['an upper-case address', ['0000:0A:00.0'], {}],
    ['function 1 first', ['0000:0a:00.1', '0000:0a:00.0'], {}],
    ['two slots', ['0000:0a:00.0', '0000:0b:00.1'], {}],
    ['a repeat', ['0000:0a:00.0', '0000:0a:00.0'], {}],
    ['a relative ROM path', ['0000:0a:00.0'], { romFile: 'roms/x.rom' }],
    ['a ROM path with NUL', ['0000:0a:00.0'], { romFile: '/roms/x\0.rom' }],
    ['a guest slot out of range', ['0000:0a:00.0'], { guestSlot: { bus: 'pci.1', slot: 32 } }],
  ])('rejects %s', (_what, functions, extra) => {
    expect(check(functions, extra)).toThrow(VmInvalidRequestError);
  });

  it('reads guest buses as libvirt aliases or numbers', () => {
    expect(['pci.3', '3', '0x03', '0x1f', 'pci.255'].map(guestBusNumber)).toEqual([3, 3, 3, 31, 255]);
    expect(['pci.256', 'rp1', 'pci.', '', '0x100', 'pci.3 '].map(guestBusNumber)).toEqual([null, null, null, null, null, null]);
  });
});
