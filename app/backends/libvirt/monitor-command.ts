// The answer of `virsh qemu-monitor-command DOMAIN '<QMP JSON>'`: QEMU's reply, verbatim
// ({"return": ..., "id": "libvirt-N"} or {"error": {"class", "desc"}, "id": ...}).
import { VmCommandFailedError, VmProtocolError } from '../../domain/vm/errors.js';
import type { VmName } from '../../domain/vm/port.js';

export function monitorReply(vm: VmName, command: string, output: string): unknown {
  let reply: { return?: unknown; error?: { class?: string; desc?: string } };
  try {
    reply = JSON.parse(output) as typeof reply;
  } catch (cause) {
    throw new VmProtocolError(`${vm}: ${command} through the libvirt monitor answered something that is not JSON: ${output.slice(0, 200)}`, { vm, hypervisor: 'libvirt', hypervisorMessage: output, cause });
  }
  if (reply.error) {
    const desc = reply.error.desc ?? JSON.stringify(reply.error);
    throw new VmCommandFailedError(`${vm}: ${command} failed: ${desc}`, { vm, hypervisor: 'libvirt', hypervisorMessage: desc, ...(reply.error.class ? { hypervisorErrorClass: reply.error.class } : {}) });
  }
  return reply.return;
}
