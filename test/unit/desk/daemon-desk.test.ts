// The desk methods on the helper's own socket (no bridge in front): the helper validates them
// itself, allowlists the names, and pushes desk events only to connections that asked for them.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from '../../../app/helper/daemon/daemon.js';
import { createDesk } from '../../../app/helper/desk/index.js';
import type { DeskEvent } from '../../../app/protocol/desk.js';
import { connectHelper } from '../../../app/protocol/helper-client.js';
import { RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import { makeHarness } from '../engine/harness.js';
import { cleanup, exchange, request, startTestDaemon, tempSocketDir } from '../helper/daemon/harness.js';

afterEach(cleanup);

const errorOf = (m: Record<string, unknown>) => m.error as { code: number; message: string };

async function deskDaemon() {
  const h = makeHarness();
  const desk = createDesk(h.service, h.sim.config, { configFile: null, version: '1.2.3', simulated: true })!;
  const socketPath = join(tempSocketDir(), 'helper.sock');
  const daemon = await startDaemon({ service: h.service, config: h.sim.config, desk, socketPath, log: () => {} });
  return { h, desk, socketPath, close: async () => (await daemon.close(), desk.close()) };
}

describe('the desk on the helper socket', () => {
  it('is refused by a helper that serves no desk', async () => {
    const { socketPath } = await startTestDaemon();
    const { messages } = await exchange(socketPath, request(1, 'desk.snapshot'), 1);
    expect(errorOf(messages[0]!)).toMatchObject({ code: RpcErrorCode.MethodNotFound, message: expect.stringContaining('this helper serves no desk') });
  });

  it('checks desk.history itself: its shape, and GPU and VM names against the config', async () => {
    const d = await deskDaemon();
    try {
      const { messages } = await exchange(
        d.socketPath,
        request(1, 'desk.history', { limit: 0 }) + request(2, 'desk.history', { gpu: 'gpu-z' }) + request(3, 'desk.history', { vm: 'nope' }) + request(4, 'desk.history', { since: 'yesterday' }) + request(5, 'desk.history', { limit: 5, sneaky: true }),
        5,
      );
      const byId = new Map(messages.map((m) => [m.id, m]));
      expect(errorOf(byId.get(1)!).code).toBe(RpcErrorCode.InvalidParams);
      expect(errorOf(byId.get(2)!)).toMatchObject({ code: RpcErrorCode.UnknownName, message: expect.stringContaining('unknown GPU "gpu-z"') });
      expect(errorOf(byId.get(3)!)).toMatchObject({ code: RpcErrorCode.UnknownName });
      expect(errorOf(byId.get(4)!)).toMatchObject({ code: RpcErrorCode.InvalidParams, message: expect.stringContaining('params.since') });
      expect(errorOf(byId.get(5)!)).toMatchObject({ code: RpcErrorCode.InvalidParams });
    } finally {
      await d.close();
    }
  });

  it('pushes desk events to a subscribed connection only, and stops on unsubscribe', async () => {
    const d = await deskDaemon();
    const watcher = await connectHelper(d.socketPath);
    const bystander = await connectHelper(d.socketPath);
    try {
      const seen: DeskEvent[] = [];
      const heardByBystander: DeskEvent[] = [];
      watcher.onDesk((e) => seen.push(e));
      bystander.onDesk((e) => heardByBystander.push(e));
      const { snapshot } = await watcher.call('desk.subscribe');
      expect(snapshot.gpus.map((g) => g.owner)).toEqual(['host', 'host']);
      await bystander.call('switch', { gpu: 'gpu-b', target: 'vm-xen', requestedBy: 'cli' });
      for (let i = 0; i < 200 && !seen.some((e) => e.kind === 'desk-changed' && e.snapshot.gpus[1]?.owner === 'vm-xen'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(seen.some((e) => e.kind === 'desk-changed' && e.snapshot.gpus[1]?.owner === 'vm-xen')).toBe(true);
      expect(seen.filter((e) => e.kind === 'history-appended')).toHaveLength(1);
      expect(heardByBystander).toEqual([]);

      expect(await watcher.call('desk.unsubscribe')).toEqual({ subscribed: false });
      const before = seen.length;
      await bystander.call('switch', { gpu: 'gpu-b', target: 'host', requestedBy: 'cli' });
      // The bystander's answer came after the whole switch; a subscriber would have heard it by now.
      await watcher.call('hello');
      expect(seen.length).toBe(before);
    } finally {
      watcher.close();
      bystander.close();
      await d.close();
    }
  });
});
