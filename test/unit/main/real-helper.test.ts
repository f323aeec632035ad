// Main's helper connection against the real daemon over its Unix socket (real framing, JSON-RPC,
// peer check, desk subscription): connects, receives desk events, switches, and reconnects by
// itself after the helper stops and a new one starts on the same socket.
import { afterEach, describe, expect, it } from 'vitest';
import { HelperConnection } from '../../../app/main/helper-connection.js';
import { connectSession } from '../../../app/main/helper-session.js';
import { realTimers } from '../../../app/main/ports.js';
import type { DeskSource } from '../../../app/helper/desk/source.js';
import type { DeskEvent, DeskSnapshot } from '../../../app/protocol/desk.js';
import { cleanup, startTestDaemon, tempSocketDir } from '../helper/daemon/harness.js';
import { desk, gpu } from './fixtures.js';
import { join } from 'node:path';

class TestDesk implements DeskSource {
  private readonly listeners = new Set<(e: DeskEvent) => void>();
  constructor(public current: DeskSnapshot) {}
  async snapshot() {
    return this.current;
  }
  subscribe(l: (e: DeskEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  async historyPage() {
    return { entries: [], nextCursor: null, total: 0 };
  }
  push(e: DeskEvent) {
    for (const l of this.listeners) l(e);
  }
}

/** Waits for a condition the connection reaches by itself (no timing is asserted). */
async function until(what: string, ok: () => boolean, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const connections: HelperConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.stop();
  await cleanup();
});

describe('HelperConnection over the real helper socket', () => {
  it('connects, follows desk events, switches, and comes back after the helper restarts', async () => {
    const socketPath = join(tempSocketDir(), 'helper.sock');
    const firstDesk = new TestDesk(desk({ gpus: [gpu('gpu0', '0000:01:00.0')] }, 7));
    const first = await startTestDaemon({ socketPath, desk: firstDesk });
    const c = new HelperConnection({ socketPath, connect: connectSession, timers: realTimers, backoff: { initialMs: 20, maxMs: 200 } });
    connections.push(c);
    const states: string[] = [];
    c.onState((s) => states.push(s.kind));
    c.start();
    await until('connected', () => c.state.kind === 'connected');
    expect(c.snapshot?.revision).toBe(7);

    const events: DeskEvent[] = [];
    c.onEvent((e) => events.push(e));
    firstDesk.push({ kind: 'switch-started', switchId: 'sw-1', gpu: 'gpu0', from: 'host', to: 'win', requestedBy: 'tray' });
    firstDesk.push({ kind: 'desk-changed', snapshot: desk({ gpus: [gpu('gpu0', '0000:01:00.0', { busy: true })] }, 8) });
    await until('two events', () => events.length === 2);
    expect(c.snapshot?.revision).toBe(8);

    const result = await c.switchGpu('gpu0', 'win', 'tray');
    expect(result.outcome).toBe('succeeded');
    expect(first.service.calls).toEqual([{ gpu: 'gpu0', target: 'win', requestedBy: 'tray', peer: { uid: process.getuid?.(), user: expect.any(String) } }]);

    await first.daemon.close();
    await until('helper-down', () => c.state.kind === 'helper-down');
    await expect(c.switchGpu('gpu0', 'host', 'tray')).rejects.toThrow(/not connected to the helper/);

    // A new helper on the same socket, with a desk that starts its revisions again.
    const secondDesk = new TestDesk(desk({ gpus: [gpu('gpu0', '0000:01:00.0', { owner: 'win' })] }, 1));
    await startTestDaemon({ socketPath, desk: secondDesk });
    await until('connected again', () => c.state.kind === 'connected');
    expect(c.snapshot?.revision).toBe(1);
    expect(c.snapshot?.gpus[0]?.owner).toBe('win');
    expect(states[0]).toBe('connected');
    expect(states.slice(-2)).toEqual(['helper-down', 'connected']);
  });

  it('a socket nobody listens on is "helper down", with the path', async () => {
    const socketPath = join(tempSocketDir(), 'none.sock');
    const c = new HelperConnection({ socketPath, connect: connectSession, timers: realTimers, backoff: { initialMs: 1000, maxMs: 1000 } });
    connections.push(c);
    c.start();
    await until('helper-down', () => c.state.kind === 'helper-down');
    expect(c.state).toEqual({ kind: 'helper-down', message: `nothing listens on ${socketPath}` });
  });
});
