// The QMP client and backend against a scripted peer: the misbehaviour a real QEMU does not produce on demand.
import { afterEach, describe, expect, it } from 'vitest';
import type { PciAddress } from '../../../../app/domain/pci-address.js';
import { GuestDidNotReleaseError, VmProtocolError, VmTimeoutError, type VmBackendError } from '../../../../app/domain/vm/errors.js';
import { QmpBackend } from '../../../../app/backends/qmp/backend.js';
import { QmpClient } from '../../../../app/backends/qmp/client.js';
import { GREETING, startFakePeer, type FakePeer, type Handler } from './fake-peer.js';

const peers: FakePeer[] = [];
const clients: QmpClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const peer of peers.splice(0)) await peer.close();
});

async function peer(options: Parameters<typeof startFakePeer>[0] = {}): Promise<FakePeer> {
  const p = await startFakePeer(options);
  peers.push(p);
  return p;
}

async function connect(p: FakePeer, options: { connectTimeoutMs?: number; commandTimeoutMs?: number } = {}) {
  const client = await QmpClient.connect({ socketPath: p.socketPath, vm: 'fake', ...options });
  clients.push(client);
  const protocolErrors: VmProtocolError[] = [];
  client.onProtocolError((e) => protocolErrors.push(e));
  return { client, protocolErrors };
}

describe('QMP client against a misbehaving peer', () => {
  it('reports garbage and wrong-shaped lines, then keeps working', async () => {
    const p = await peer({
      handler: (request, c) => {
        c.socket.write('this is not json\r\n{"neither": "is this"}\r\n[1]\r\n');
        c.reply(request, { status: 'running', running: true });
      },
    });
    const { client, protocolErrors } = await connect(p);
    expect(await client.execute('query-status')).toEqual({ status: 'running', running: true });
    expect(protocolErrors.map((e) => e.message)).toEqual([
      expect.stringContaining('not JSON'), expect.stringContaining('malformed QMP message'), expect.stringContaining('not a JSON object'),
    ]);
    expect(client.connected).toBe(true);
    expect(await client.execute('query-status')).toMatchObject({ running: true });
  });

  it('fails a request at once when its answer has the wrong shape', async () => {
    const p = await peer({ handler: (request, c) => c.send({ error: { class: 42 }, id: request.id }) });
    const { client, protocolErrors } = await connect(p, { commandTimeoutMs: 5_000 });
    const started = Date.now();
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(VmProtocolError);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(protocolErrors).toHaveLength(1);
  });

  it('reassembles a greeting and answers split byte by byte, and several messages in one chunk', async () => {
    const p = await peer({
      greeting: false,
      handler: (request, c) => {
        const answer = JSON.stringify({ return: { ok: 1 }, id: request.id });
        const event = JSON.stringify({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } });
        c.socket.write(`${event}\r\n${answer.slice(0, 5)}`);
        setTimeout(() => c.socket.write(`${answer.slice(5)}\r\n${event}\r\n`), 20);
      },
    });
    const server = p;
    const greetingSent = (async () => {
      while (server.connections.length === 0) await new Promise((r) => setTimeout(r, 5));
      const socket = server.connections[0]!.socket;
      for (const byte of Buffer.from(GREETING)) {
        socket.write(Buffer.from([byte]));
        if (byte % 16 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const connecting = QmpClient.connect({ socketPath: p.socketPath, vm: 'fake' });
    await greetingSent;
    const client = await connecting;
    clients.push(client);
    expect(client.greeting?.version.qemu).toEqual({ major: 7, minor: 2, micro: 0 });
    const events: string[] = [];
    client.onEvent((e) => events.push(e.event));
    expect(await client.execute('query-x')).toEqual({ ok: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['STOP', 'STOP']);
  });

  it('closes the connection on a message over 4 MiB without a newline, failing pending requests', async () => {
    let peerSawClose = false;
    const p = await peer({
      handler: (_request, c) => {
        c.socket.on('close', () => { peerSawClose = true; });
        const block = Buffer.alloc(1024 * 1024, 0x61);
        for (let i = 0; i < 5; i++) c.socket.write(block);
      },
    });
    const { client, protocolErrors } = await connect(p);
    const disconnects: VmBackendError[] = [];
    client.onDisconnect((reason) => disconnects.push(reason));
    const error = await client.execute('query-pci').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VmProtocolError);
    expect((error as Error).message).toMatch(/over 4194304 bytes/);
    expect(protocolErrors).toHaveLength(1);
    expect(disconnects).toEqual([error]);
    expect(client.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(peerSawClose).toBe(true);
  });

  it('times out a peer that never greets', async () => {
    const p = await peer({ greeting: false });
    const started = Date.now();
    const error = await QmpClient.connect({ socketPath: p.socketPath, vm: 'fake', connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ constructor: VmTimeoutError, operation: 'connect', deadlineMs: 300 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports an answer with an unknown id; the request itself times out; a late answer is not an error', async () => {
    let lateAnswer: (() => void) | undefined;
    const p = await peer({
      handler: (request, c) => {
        c.send({ return: {}, id: 'not-mine' });
        lateAnswer = () => c.reply(request, {});
      },
    });
    const { client, protocolErrors } = await connect(p);
    const error = await client.execute('query-status', undefined, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ constructor: VmTimeoutError, operation: 'query-status', deadlineMs: 300 });
    expect(protocolErrors.map((e) => e.message)).toEqual([expect.stringContaining('unknown id "not-mine"')]);
    lateAnswer?.();
    await new Promise((r) => setTimeout(r, 50));
    expect(protocolErrors).toHaveLength(1);
    expect(client.connected).toBe(true);
  });
});

// What a VM holding vfio-pci functions answers; real vfio-pci cannot be created on this machine.
function vfioVm(options: { guestReleases: boolean }): { handler: Handler; present: Set<string> } {
  const present = new Set(['baton-gpu-01-00-0', 'baton-gpu-01-00-1']);
  const hosts: Record<string, string> = { 'baton-gpu-01-00-0': '0000:01:00.0', 'baton-gpu-01-00-1': '0000:01:00.1' };
  const handler: Handler = (request, c) => {
    const args = request.arguments ?? {};
    switch (request.execute) {
      case 'qom-list':
        return c.reply(request, args.path === '/machine/peripheral'
          ? [{ name: 'type', type: 'string' }, { name: 'rp1', type: 'child<pcie-root-port>' }, ...[...present].map((name) => ({ name, type: 'child<vfio-pci>' }))]
          : [{ name: 'type', type: 'string' }]);
      case 'qom-get':
        return c.reply(request, hosts[String(args.path).split('/').pop() ?? ''] ?? '');
      case 'device_del': {
        c.reply(request, {});
        const id = String(args.id);
        if (!options.guestReleases) return c.event('DEVICE_UNPLUG_GUEST_ERROR', { device: id, path: `/machine/peripheral/${id}` });
        present.delete(id);
        return setTimeout(() => c.event('DEVICE_DELETED', { device: id, path: `/machine/peripheral/${id}` }), 20);
      }
      case 'query-pci':
        return c.reply(request, [{ bus: 0, devices: [] }]);
    }
  };
  return { handler, present };
}

describe('QMP backend: vfio-pci bookkeeping', () => {
  const a = (text: string) => text as PciAddress;

  it('lists passthrough devices and detaches them, function 1 first, confirmed by DEVICE_DELETED', async () => {
    const vm = vfioVm({ guestReleases: true });
    const p = await peer({ handler: vm.handler });
    const backend = new QmpBackend({ vms: [{ name: 'vm-a', socketPath: p.socketPath }] });
    try {
      expect(await backend.passthroughDevices('vm-a')).toEqual(['0000:01:00.0', '0000:01:00.1']);
      const result = await backend.detachGpu('vm-a', [a('0000:01:00.0'), a('0000:01:00.1'), a('0000:02:00.0')], { deadlineMs: 2_000 });
      expect(result).toEqual({ removed: ['0000:01:00.1', '0000:01:00.0'], alreadyAbsent: ['0000:02:00.0'] });
      const deletes = p.connections[0]!.requests.filter((r) => r.execute === 'device_del').map((r) => r.arguments?.id);
      expect(deletes).toEqual(['baton-gpu-01-00-1', 'baton-gpu-01-00-0']);
      expect(vm.present.size).toBe(0);
    } finally {
      await backend.close();
    }
  });

  it('fails at once with GuestDidNotReleaseError when the guest reports an unplug error', async () => {
    const p = await peer({ handler: vfioVm({ guestReleases: false }).handler });
    const backend = new QmpBackend({ vms: [{ name: 'vm-a', socketPath: p.socketPath }] });
    try {
      const started = Date.now();
      const error = await backend.detachGpu('vm-a', [a('0000:01:00.0')], { deadlineMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ constructor: GuestDidNotReleaseError, pendingDevices: ['baton-gpu-01-00-0'] });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await backend.close();
    }
  });
});
