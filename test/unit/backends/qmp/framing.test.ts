// Line framing, message classification and the small pure helpers of the QMP backend.
import { describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { VmInvalidRequestError } from '../../../../app/domain/vm/errors.js';
import { gpuDeviceId, guestPciAddr, hostAddressFromDeviceId } from '../../../../app/backends/qmp/device-ids.js';
import { vfioDeviceArgs, vfioFunctions } from '../../../../app/backends/qmp/gpu-request.js';
import { LineFramer } from '../../../../app/backends/qmp/line-framer.js';
import { parseQmpMessage } from '../../../../app/backends/qmp/messages.js';
import { vmStateFromRunState } from '../../../../app/backends/qmp/run-state.js';

describe('LineFramer', () => {
  it('joins a line split across chunks, even inside a UTF-8 character', () => {
    const framer = new LineFramer();
    const bytes = Buffer.from('{"desc":"café"}\r\n');
    const cut = bytes.indexOf(0xa9); // second byte of "é"
    expect(framer.push(bytes.subarray(0, cut)).lines).toEqual([]);
    expect(framer.push(bytes.subarray(cut)).lines).toEqual(['{"desc":"café"}']);
  });

  it('returns several messages from one chunk and keeps the tail', () => {
    const framer = new LineFramer();
    expect(framer.push(Buffer.from('{"a":1}\n{"b":2}\r\n{"c"')).lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(framer.push(Buffer.from(':3}\n')).lines).toEqual(['{"c":3}']);
  });

  it('reports overflow for an unfinished line over the limit', () => {
    const framer = new LineFramer(16);
    expect(framer.push(Buffer.from('0123456789')).overflow).toBe(false);
    expect(framer.push(Buffer.from('0123456789'))).toMatchObject({ overflow: true, bufferedBytes: 20 });
  });

  it('reports overflow for a finished line over the limit, keeping earlier lines', () => {
    const result = new LineFramer(8).push(Buffer.from('{"a":1}\n0123456789\n'));
    expect(result).toMatchObject({ lines: ['{"a":1}'], overflow: true });
  });
});

describe('parseQmpMessage', () => {
  it('classifies garbage and wrong shapes as invalid, keeping an id it can still read', () => {
    expect(parseQmpMessage('not json')).toMatchObject({ type: 'invalid', id: undefined });
    expect(parseQmpMessage('[1,2]')).toMatchObject({ type: 'invalid' });
    expect(parseQmpMessage('{"hello":1}')).toMatchObject({ type: 'invalid' });
    expect(parseQmpMessage('{"error":{"class":5},"id":7}')).toMatchObject({ type: 'invalid', id: 7 });
    expect(parseQmpMessage('{"event":"STOP"}')).toMatchObject({ type: 'invalid' });
    expect(parseQmpMessage('{"QMP":{"version":"7"}}')).toMatchObject({ type: 'invalid' });
  });

  it('accepts an event without data', () => {
    expect(parseQmpMessage('{"event":"STOP","timestamp":{"seconds":1,"microseconds":2}}'))
      .toEqual({ type: 'event', event: { event: 'STOP', data: {}, timestamp: { seconds: 1, microseconds: 2 } } });
  });
});

describe('device ids and vfio requests', () => {
  const a = (text: string) => text as PciAddress;

  it('derives stable ids and reads them back', () => {
    expect(gpuDeviceId(a('0000:01:00.1'))).toBe('baton-gpu-01-00-1');
    expect(gpuDeviceId(a('0001:0a:1f.0'))).toBe('baton-gpu-0001-0a-1f-0');
    expect(hostAddressFromDeviceId('baton-gpu-0001-0a-1f-0')).toBe('0001:0a:1f.0');
    expect(hostAddressFromDeviceId('baton-gpu-01-00-1')).toBe('0000:01:00.1');
    expect(hostAddressFromDeviceId('hostdev0')).toBeNull();
    expect(guestPciAddr(0x1a, 1)).toBe('0x1a.0x1');
  });

  it('builds vfio-pci functions with the ROM on function 0 only', () => {
    const fns = vfioFunctions('vm', { functions: [a('0000:01:00.0'), a('0000:01:00.1')], romFile: '/r.rom' });
    expect(fns).toEqual([
      { id: 'baton-gpu-01-00-0', driver: 'vfio-pci', function: 0, properties: { host: '0000:01:00.0', romfile: '/r.rom' } },
      { id: 'baton-gpu-01-00-1', driver: 'vfio-pci', function: 1, properties: { host: '0000:01:00.1' } },
    ]);
    expect(vfioDeviceArgs(fns, { bus: 'rp1', slot: 0 })).toEqual([
      '-device', 'vfio-pci,host=0000:01:00.0,romfile=/r.rom,id=baton-gpu-01-00-0,bus=rp1,addr=0x0.0x0,multifunction=on',
      '-device', 'vfio-pci,host=0000:01:00.1,id=baton-gpu-01-00-1,bus=rp1,addr=0x0.0x1',
    ]);
    expect(vfioDeviceArgs(vfioFunctions('vm', { functions: [a('0000:01:00.0')], romFile: '/a,b' }), { bus: 'rp1', slot: 0 }))
      .toEqual(['-device', 'vfio-pci,host=0000:01:00.0,romfile=/a,,b,id=baton-gpu-01-00-0,bus=rp1,addr=0x0.0x0']);
  });

  it('refuses requests that cannot be one slot', () => {
    const bad = [
      [],
      [a('0000:01:00.1'), a('0000:01:00.0')],
      [a('0000:01:00.0'), a('0000:02:00.1')],
      [a('0000:01:00.0'), a('0000:01:00.0')],
      [a('01:00.0')],
    ];
    for (const functions of bad) expect(() => vfioFunctions('vm', { functions })).toThrow(VmInvalidRequestError);
  });
});

describe('vmStateFromRunState', () => {
  it('maps run states and keeps unknown ones unknown', () => {
    expect(vmStateFromRunState('running')).toBe('running');
    expect(vmStateFromRunState('prelaunch')).toBe('paused');
    expect(vmStateFromRunState('inmigrate')).toBe('starting');
    expect(vmStateFromRunState('shutdown')).toBe('shut-off');
    expect(vmStateFromRunState('guest-panicked')).toBe('crashed');
    expect(vmStateFromRunState('something-new')).toBe('unknown');
  });
});
