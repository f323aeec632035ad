// The real input port's decisions, against a relay port and a VM backend that record what they
// are asked (the relay child itself runs in the KVM lab: test/lab/kvm/input-relay.lab.test.ts).
import { describe, expect, it } from 'vitest';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import { VmCommandFailedError, VmNotRunningError } from '../../../app/domain/vm/errors.js';
import type { VmBackend, VmInputRequest } from '../../../app/domain/vm/port.js';
import { InputFollower } from '../../../app/helper/adapters/input-follower.js';
import { simulatedConfig } from '../../../app/helper/simulate/index.js';
import type { InputRelayPort, RelayRequest } from '../../../app/host/input/relay.js';

const config: BatonConfig = (() => {
  const c = simulatedConfig();
  return {
    ...c,
    inputs: { devices: [{ name: 'kbd', path: '/dev/input/by-id/usb-K-event-kbd' }, { name: 'mouse', path: '/dev/input/by-id/usb-M-event-mouse' }], follow: [], returnChord: { keys: ['KEY_LEFTCTRL', 'KEY_RIGHTCTRL'], action: 'host' } },
    gpus: c.gpus.map((g) => (g.name === 'gpu-a' ? { ...g, inputs: ['kbd', 'mouse'] } : g)),
  };
})();

function world() {
  const log: string[] = [];
  const relays: { request: RelayRequest; stopped: boolean; die: () => void }[] = [];
  const relay: InputRelayPort = {
    start: async (request) => {
      let die!: () => void;
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => { die = () => resolve({ code: null, signal: 'SIGKILL' }); });
      const entry = { request, stopped: false, die };
      relays.push(entry);
      return { devices: request.devices.map((d, i) => ({ name: d.name, node: `/dev/input/event${20 + relays.length * 2 + i}` })), exited, stop: async () => { entry.stopped = true; die(); return null; } };
    },
  };
  const objects = new Map<string, Map<string, VmInputRequest>>();
  const off = new Set<string>();
  const backend = (hypervisor: 'qmp' | 'xen') => ({
    hypervisor,
    ...(hypervisor === 'qmp' && {
      inputs: {
        add: async (vm: string, input: VmInputRequest) => {
          if (off.has(vm)) throw new VmNotRunningError(`${vm} is not running`, { vm, hypervisor });
          const there = objects.get(vm) ?? new Map<string, VmInputRequest>();
          if (there.has(input.id)) throw new VmCommandFailedError(`${vm}: duplicate ID '${input.id}'`, { vm, hypervisor });
          there.set(input.id, input);
          objects.set(vm, there);
        },
        remove: async (vm: string, id: string) => {
          if (off.has(vm)) throw new VmNotRunningError(`${vm} is not running`, { vm, hypervisor });
          objects.get(vm)?.delete(id);
        },
      },
    }),
  }) as unknown as VmBackend;
  const follower = new InputFollower({ config, relay, backendFor: (vm) => backend(vm === 'vm-xen' ? 'xen' : 'qmp'), log: (l) => log.push(l) });
  const inVm = (vm: string) => [...(objects.get(vm)?.values() ?? [])];
  return { follower, relays, inVm, off, log };
}

describe('input follower (the real input port)', () => {
  it('into a VM: one relay for the GPU\'s inputs with the chord\'s key codes, one input-linux object per twin with grab-toggle ctrl-ctrl', async () => {
    const w = world();
    await w.follower.follow('gpu-a', 'win11');
    expect(w.relays).toHaveLength(1);
    expect(w.relays[0]?.request.devices).toEqual([{ name: 'kbd', path: '/dev/input/by-id/usb-K-event-kbd' }, { name: 'mouse', path: '/dev/input/by-id/usb-M-event-mouse' }]);
    expect(w.relays[0]?.request.chord).toEqual([29, 97]);
    expect(w.inVm('win11')).toEqual([
      { id: 'baton-input-kbd', evdev: '/dev/input/event22', grabToggle: 'ctrl-ctrl' },
      { id: 'baton-input-mouse', evdev: '/dev/input/event23', grabToggle: 'ctrl-ctrl' },
    ]);
    expect(w.follower.holder('gpu-a')).toBe('win11');
    await w.follower.follow('gpu-a', 'win11'); // idempotent: nothing new
    expect(w.relays).toHaveLength(1);
  });

  it('VM to VM keeps the relay and moves the objects; back to the host removes them and stops the relay', async () => {
    const w = world();
    await w.follower.follow('gpu-a', 'win11');
    await w.follower.follow('gpu-a', 'linux-dev');
    expect(w.relays).toHaveLength(1);
    expect(w.inVm('win11')).toEqual([]);
    expect(w.inVm('linux-dev').map((o) => o.id)).toEqual(['baton-input-kbd', 'baton-input-mouse']);
    await w.follower.follow('gpu-a', null);
    expect(w.inVm('linux-dev')).toEqual([]);
    expect(w.relays[0]?.stopped).toBe(true);
    expect(w.follower.holder('gpu-a')).toBeNull();
  });

  it('a relay that died is started again and the VM\'s stale objects replaced (no duplicate id)', async () => {
    const w = world();
    await w.follower.follow('gpu-a', 'win11');
    w.relays[0]?.die();
    await new Promise((r) => setTimeout(r, 0));
    expect(w.follower.holder('gpu-a')).toBeNull();
    expect(w.log.join('\n')).toMatch(/the input relay exited \(SIGKILL\)/);
    await w.follower.follow('gpu-a', 'win11');
    expect(w.relays).toHaveLength(2);
    expect(w.inVm('win11').map((o) => o.evdev)).toEqual(['/dev/input/event24', '/dev/input/event25']);
  });

  it('passes the chord on for its GPU', async () => {
    const w = world();
    const heard: string[] = [];
    w.follower.onChord((gpu) => heard.push(gpu));
    await w.follower.follow('gpu-a', 'win11');
    w.relays[0]?.request.onChord();
    expect(heard).toEqual(['gpu-a']);
  });

  it('refuses a Xen VM, saying what to do instead, and starts no relay', async () => {
    const w = world();
    await expect(w.follower.follow('gpu-a', 'vm-xen')).rejects.toThrow(/vm-xen runs on xen, which cannot take an evdev input; move a USB controller with the GPU instead/);
    expect(w.relays).toEqual([]);
  });

  it('back to the host from a VM that is off: nothing to remove, the relay stops', async () => {
    const w = world();
    await w.follower.follow('gpu-a', 'win11');
    w.off.add('win11');
    await w.follower.follow('gpu-a', null);
    expect(w.relays[0]?.stopped).toBe(true);
  });
});
