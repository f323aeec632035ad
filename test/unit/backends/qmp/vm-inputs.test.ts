// Relayed inputs through a QEMU monitor: the commands sent, bad requests refused as VmInvalidRequestError,
// and object-del of an object that is already gone taken as done (for QMP and libvirt's passthrough).
import { describe, expect, it } from 'vitest';
import { monitorReply } from '../../../../app/backends/libvirt/monitor-command.js';
import type { QmpCommand } from '../../../../app/backends/qmp/input-object.js';
import { monitorInputs } from '../../../../app/backends/qmp/vm-inputs.js';
import { VmCommandFailedError, VmInvalidRequestError, VmProtocolError } from '../../../../app/domain/vm/errors.js';

describe('monitor inputs', () => {
  it('adds input-linux objects and removes them, an object already gone included', async () => {
    const sent: QmpCommand[] = [];
    const inputs = monitorInputs('qmp', async (_vm, c) => {
      sent.push(c);
      if (c.execute === 'object-del' && c.arguments.id === 'baton-input-gone') throw new VmCommandFailedError("win11: object 'baton-input-gone' not found", { vm: 'win11', hypervisor: 'qmp' });
      return {};
    });
    await inputs.add('win11', { id: 'baton-input-kbd', evdev: '/dev/input/event7', grabToggle: 'ctrl-ctrl' });
    await inputs.remove('win11', 'baton-input-kbd');
    await inputs.remove('win11', 'baton-input-gone');
    expect(sent).toEqual([
      { execute: 'object-add', arguments: { 'qom-type': 'input-linux', id: 'baton-input-kbd', evdev: '/dev/input/event7', grab_all: false, repeat: false, 'grab-toggle': 'ctrl-ctrl' } },
      { execute: 'object-del', arguments: { id: 'baton-input-kbd' } },
      { execute: 'object-del', arguments: { id: 'baton-input-gone' } },
    ]);
  });

  it('refuses a toggle QEMU does not have and a path that is not an evdev node, sending nothing', async () => {
    const sent: QmpCommand[] = [];
    const inputs = monitorInputs('libvirt', async (_vm, c) => void sent.push(c));
    await expect(inputs.add('dev', { id: 'baton-input-kbd', evdev: '/dev/input/event7', grabToggle: 'ctrl-alt' })).rejects.toThrow(VmInvalidRequestError);
    await expect(inputs.add('dev', { id: 'baton-input-kbd', evdev: '/etc/shadow' })).rejects.toThrow(/dev: "\/etc\/shadow" is not an evdev node/);
    expect(sent).toEqual([]);
  });

  it('a failure other than "not found" on removal is passed on', async () => {
    const inputs = monitorInputs('qmp', async () => { throw new VmCommandFailedError('win11: Device or resource busy', { vm: 'win11', hypervisor: 'qmp' }); });
    await expect(inputs.remove('win11', 'baton-input-kbd')).rejects.toThrow(/busy/);
  });
});

describe("libvirt's qemu-monitor-command answer", () => {
  it('gives the return value, turns a QMP error into VmCommandFailedError, and a non-JSON answer into VmProtocolError', () => {
    expect(monitorReply('dev', 'object-add', '{"return":{},"id":"libvirt-23"}\n')).toEqual({});
    let failed: unknown;
    try { monitorReply('dev', 'object-del', '{"id":"libvirt-24","error":{"class":"GenericError","desc":"object \'baton-input-kbd\' not found"}}'); } catch (err) { failed = err; }
    expect(failed).toBeInstanceOf(VmCommandFailedError);
    expect(failed).toMatchObject({ message: "dev: object-del failed: object 'baton-input-kbd' not found", hypervisorErrorClass: 'GenericError', hypervisorMessage: "object 'baton-input-kbd' not found" });
    expect(() => monitorReply('dev', 'object-add', 'error: command not found')).toThrow(VmProtocolError);
  });
});
