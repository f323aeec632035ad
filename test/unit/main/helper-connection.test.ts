// The helper connection through its ports: the designed down / not-allowed states, backoff that
// grows and is capped, a fresh snapshot after every reconnect, stale snapshots ignored; and, with
// fast-check, any interleaving of failures, drops and user retries keeps one timer at most.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HelperConnection, stateAfterFailure, type HelperSession } from '../../../app/main/helper-connection.js';
import type { TimerPort } from '../../../app/main/ports.js';
import { HelperConnectError } from '../../../app/protocol/helper-client.js';
import type { DeskEvent } from '../../../app/protocol/desk.js';
import { HelperRpcError, RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import { desk } from './fixtures.js';

class FakeTimers implements TimerPort {
  pending = new Map<number, { cb: () => void; ms: number }>();
  delays: number[] = [];
  private next = 1;
  setTimeout(cb: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { cb, ms });
    this.delays.push(ms);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  fire(): void {
    const [id, t] = [...this.pending.entries()][0] ?? [];
    if (id === undefined || !t) throw new Error('no timer pending');
    this.pending.delete(id);
    t.cb();
  }
}

class FakeSession implements HelperSession {
  closeListeners: ((r: Error | null) => void)[] = [];
  eventListeners: ((e: DeskEvent) => void)[] = [];
  closed = false;
  constructor(private readonly snapshotRevision = 1) {}
  async subscribeDesk() {
    return desk({}, this.snapshotRevision);
  }
  onDeskEvent(l: (e: DeskEvent) => void) {
    this.eventListeners.push(l);
  }
  async switchGpu(gpu: string, target: string) {
    return { switchId: 's', outcome: 'succeeded' as const, owner: target + gpu.slice(0, 0) };
  }
  async history() {
    return { entries: [], nextCursor: null, total: 0 };
  }
  onClose(l: (r: Error | null) => void) {
    this.closeListeners.push(l);
  }
  close() {
    this.closed = true;
  }
  drop(reason: Error | null = null) {
    for (const l of this.closeListeners) l(reason);
  }
  push(e: DeskEvent) {
    for (const l of this.eventListeners) l(e);
  }
}

const settle = () => new Promise((r) => setImmediate(r));
const enoent = () => new HelperConnectError('/s', 'ENOENT', 'no such socket');

describe('HelperConnection', () => {
  it('classifies what went wrong into what to do', () => {
    expect(stateAfterFailure(new HelperConnectError('/s', 'EACCES', 'x'), '/s')).toEqual({ kind: 'not-allowed', message: 'permission denied on /s' });
    expect(stateAfterFailure(enoent(), '/s')).toEqual({ kind: 'helper-down', message: 'nothing listens on /s' });
    expect(stateAfterFailure(new HelperConnectError('/s', 'ECONNREFUSED', 'x'), '/s').kind).toBe('helper-down');
    expect(stateAfterFailure(new HelperRpcError(RpcErrorCode.NotAuthorized, 'uid 1000 is not in group baton'), '/s')).toEqual({ kind: 'not-allowed', message: 'the helper refused this user: uid 1000 is not in group baton' });
    expect(stateAfterFailure(new Error('boom'), '/s')).toEqual({ kind: 'error', message: 'boom' });
  });

  it('backs off while the helper is down (doubling, capped), then connects and resets the backoff', async () => {
    const timers = new FakeTimers();
    let failures = 7;
    const sessions: FakeSession[] = [];
    const c = new HelperConnection({ socketPath: '/s', timers, backoff: { initialMs: 100, maxMs: 1000 }, connect: async () => {
      if (failures-- > 0) throw enoent();
      const s = new FakeSession();
      sessions.push(s);
      return s;
    } });
    const states: string[] = [];
    c.onState((s) => states.push(s.kind));
    c.start();
    await settle();
    for (let i = 0; i < 7; i++) {
      timers.fire();
      await settle();
    }
    expect(timers.delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(c.state).toEqual({ kind: 'connected' });
    expect(states).toEqual(['helper-down', 'connected']);
    expect(c.snapshot?.revision).toBe(1);
    // Dropped: the first retry is quick again.
    sessions[0]?.drop();
    expect(c.state.kind).toBe('helper-down');
    expect(timers.delays.at(-1)).toBe(100);
  });

  it('after a restart, the new helper\'s snapshot replaces the old even with a lower revision; stale events do not', async () => {
    const timers = new FakeTimers();
    const revisions = [50, 3];
    const sessions: FakeSession[] = [];
    const c = new HelperConnection({ socketPath: '/s', timers, connect: async () => {
      const s = new FakeSession(revisions.shift());
      sessions.push(s);
      return s;
    } });
    c.start();
    await settle();
    expect(c.snapshot?.revision).toBe(50);
    sessions[0]?.push({ kind: 'desk-changed', snapshot: desk({}, 49) });
    expect(c.snapshot?.revision).toBe(50);
    sessions[0]?.push({ kind: 'desk-changed', snapshot: desk({}, 51) });
    expect(c.snapshot?.revision).toBe(51);
    sessions[0]?.drop();
    timers.fire();
    await settle();
    expect(c.state.kind).toBe('connected');
    expect(c.snapshot?.revision).toBe(3);
  });

  it('not allowed: a helper that refuses the user ends in not-allowed, and keeps retrying', async () => {
    const timers = new FakeTimers();
    const c = new HelperConnection({ socketPath: '/s', timers, connect: async () => {
      throw new HelperRpcError(RpcErrorCode.NotAuthorized, 'uid 1000 may not use the helper');
    } });
    c.start();
    await settle();
    expect(c.state.kind).toBe('not-allowed');
    expect(timers.pending.size).toBe(1);
  });

  it('refuses a switch while not connected, naming why', async () => {
    const c = new HelperConnection({ socketPath: '/s', timers: new FakeTimers(), connect: async () => {
      throw enoent();
    } });
    c.start();
    await settle();
    await expect(c.switchGpu('gpu-a', 'host', 'tray')).rejects.toThrow('not connected to the helper: nothing listens on /s');
  });

  it('a connection closing while it subscribes is a failure, not a connected state', async () => {
    const timers = new FakeTimers();
    const c = new HelperConnection({ socketPath: '/s', timers, connect: async () => {
      const s = new FakeSession();
      const sub = s.subscribeDesk.bind(s);
      s.subscribeDesk = async () => {
        s.drop(new HelperRpcError(RpcErrorCode.NotAuthorized, 'refused'));
        return sub();
      };
      return s;
    } });
    c.start();
    await settle();
    expect(c.state.kind).toBe('not-allowed');
  });

  it('any interleaving of failures, drops, retries and stop keeps at most one timer and ends stopped with none', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('fail', 'ok', 'drop', 'retry', 'fire'), { maxLength: 30 }), async (script) => {
        const timers = new FakeTimers();
        const outcomes = script.filter((s) => s === 'fail' || s === 'ok');
        let live: FakeSession | null = null;
        const c = new HelperConnection({ socketPath: '/s', timers, connect: async () => {
          if ((outcomes.shift() ?? 'fail') === 'fail') throw enoent();
          live = new FakeSession();
          return live;
        } });
        c.start();
        await settle();
        for (const step of script) {
          if (step === 'drop' && live) (live as FakeSession).drop();
          if (step === 'retry') c.reconnectNow();
          if (step === 'fire' && timers.pending.size) timers.fire();
          await settle();
          expect(timers.pending.size).toBeLessThanOrEqual(1);
          if (c.state.kind === 'connected') expect(timers.pending.size).toBe(0);
          else expect(timers.pending.size).toBe(1);
        }
        c.stop();
        expect(timers.pending.size).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
