// Parsers against QMP lines captured from a real QEMU 7.2 (test/fixtures/qmp/*.qmp, see capture.mjs there).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VmCommandFailedError, VmDeviceBusyError, VmNotFoundError, VmProtocolError } from '../../../../app/domain/vm/errors.js';
import { mapQmpError } from '../../../../app/backends/qmp/error-mapping.js';
import { LineFramer } from '../../../../app/backends/qmp/line-framer.js';
import { parseQmpMessage, type QmpMessage } from '../../../../app/backends/qmp/messages.js';
import { flattenPciTree, parseQueryPci } from '../../../../app/backends/qmp/pci-tree.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/qmp');
const raw = (name: string) => fs.readFileSync(path.join(fixtures, name));
function messages(name: string): QmpMessage[] {
  const { lines, overflow } = new LineFramer().push(raw(name));
  expect(overflow).toBe(false);
  return lines.map(parseQmpMessage);
}
const byId = (all: QmpMessage[], id: string) => all.find((m) => (m.type === 'error' || m.type === 'return') && m.id === id);

describe('real QMP transcripts', () => {
  it('parses the greeting', () => {
    const [greeting] = messages('greeting.qmp');
    expect(greeting).toEqual({
      type: 'greeting',
      greeting: { version: { qemu: { major: 7, minor: 2, micro: 22 }, package: expect.stringContaining('Debian') }, capabilities: ['oob'] },
    });
  });

  it('keeps CRLF out of parsed lines', () => {
    expect(raw('greeting.qmp').includes('\r\n')).toBe(true);
    expect(new LineFramer().push(raw('greeting.qmp')).lines[0]?.endsWith('}')).toBe(true);
  });

  it('maps each captured error to its typed error', () => {
    const all = messages('errors.qmp');
    const mapped = (id: string) => {
      const m = byId(all, id);
      if (m?.type !== 'error') throw new Error(`no error ${id} in fixture`);
      return mapQmpError({ errorClass: m.errorClass, description: m.description, command: 'c', vm: 'vm' });
    };
    expect(mapped('before-capabilities')).toBeInstanceOf(VmProtocolError);
    expect(mapped('caps-again')).toBeInstanceOf(VmProtocolError);
    expect(mapped('unknown-command')).toMatchObject({ constructor: VmCommandFailedError, hypervisorErrorClass: 'CommandNotFound' });
    expect(mapped('bad-driver')).toMatchObject({ constructor: VmCommandFailedError, hypervisorErrorClass: 'GenericError' });
    expect(mapped('root-bus-hotplug')).toBeInstanceOf(VmCommandFailedError);
    expect(mapped('vfio-no-device')).toMatchObject({ constructor: VmCommandFailedError, hypervisorMessage: expect.stringContaining('no such host device') });
    expect(mapped('unknown-device')).toMatchObject({ constructor: VmNotFoundError, target: 'device' });
    expect(mapped('duplicate-id')).toBeInstanceOf(VmDeviceBusyError);
    expect(mapped('slot-in-use')).toBeInstanceOf(VmDeviceBusyError);
    expect(mapped('device-not-active')).toMatchObject({ constructor: VmCommandFailedError, hypervisorErrorClass: 'DeviceNotActive' });
    expect(byId(all, 'add-fn1')).toEqual({ type: 'return', id: 'add-fn1', value: {} });
  });

  it('walks query-pci: root ports seen, their devices hidden until the bus is numbered', () => {
    const [reply] = messages('query-pci-multifunction.qmp');
    if (reply?.type !== 'return') throw new Error('fixture is not a return');
    const tree = flattenPciTree(parseQueryPci(reply.value));
    expect(tree.find((f) => f.qdevId === 'rp1')).toMatchObject({ slot: 1, classCode: 0x0604, parentBridge: null, bridgeEnumerated: false });
    expect(tree.map((f) => `${f.slot}.${f.function}`)).toEqual(['0.0', '1.0', '2.0', '31.0', '31.2', '31.3']);
    // Hot-plugged nic0/hda0 exist (see qom-list fixture) but are not in the tree: the -S guest never numbered rp1.
    expect(tree.some((f) => f.qdevId === 'nic0')).toBe(false);
  });

  it('walks devices nested behind bridges once numbered', () => {
    const leaf = (qdev_id: string, fn: number) => ({ bus: 1, slot: 0, function: fn, qdev_id, class_info: { class: 0x0300 }, id: { vendor: 0x1234, device: 0x1111 } });
    const tree = flattenPciTree(parseQueryPci([{ bus: 0, devices: [{
      bus: 0, slot: 1, function: 0, qdev_id: 'rp1', class_info: { class: 0x0604 }, id: { vendor: 0x1b36, device: 0xc },
      pci_bridge: { bus: { number: 0, secondary: 1, subordinate: 2 }, devices: [leaf('gpu0', 0), leaf('gpu1', 1)] },
    }] }]));
    expect(tree.map((f) => [f.qdevId, f.parentBridge, f.function])).toEqual([['rp1', null, 0], ['gpu0', 'rp1', 0], ['gpu1', 'rp1', 1]]);
    expect(() => parseQueryPci([{ bus: 0, devices: [{ slot: 'one' }] }])).toThrow();
  });

  it('parses lifecycle events in order with their data', () => {
    const all = messages('lifecycle.qmp');
    const events = all.flatMap((m) => (m.type === 'event' ? [m.event] : []));
    expect(events.map((e) => e.event)).toEqual(['RESUME', 'STOP', 'POWERDOWN', 'SHUTDOWN']);
    expect(events[3]?.data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    expect(byId(all, 'status')).toMatchObject({ value: { status: 'paused', running: false } });
  });

  it('lists peripherals from qom-list', () => {
    const [reply] = messages('qom-list-peripheral.qmp');
    expect(reply).toMatchObject({ type: 'return', value: expect.arrayContaining([{ name: 'nic0', type: 'child<e1000e>' }]) });
  });
});
