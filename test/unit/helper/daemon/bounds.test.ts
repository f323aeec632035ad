// What one client can take from the helper, tried against the real daemon over its socket: idle
// and half-line connections are closed, one uid cannot fill every slot, a client that never reads
// cannot grow the helper's buffers past the bound, a full helper says "busy", a refused flood writes
// a bounded number of log lines, and a client that half-closes still gets its answers.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHelper } from '../../../../app/cli/commands/helper.js';
import { startDaemon } from '../../../../app/helper/daemon/daemon.js';
import { RpcErrorCode } from '../../../../app/protocol/rpc-errors.js';
import { PROTOCOL_VERSION } from '../../../../app/protocol/helper-protocol.js';
import { FakeService } from './fake-service.js';
import { cleanup, exchange, request, startTestDaemon, testConfig } from './harness.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('bounds.test: SKIPPED the per-uid cap test: it must run as root to start clients as another uid\n');

afterEach(cleanup);

/** Lines the helper sent until it closed (or `ms` passed), from a raw connection that sends `payload`. */
function untilClosed(socketPath: string, payload: string, ms = 5000): Promise<{ messages: Record<string, unknown>[]; closed: boolean }> {
  return new Promise((resolve) => {
    const messages: Record<string, unknown>[] = [];
    let text = '';
    const sock = connect(socketPath);
    const timer = setTimeout(() => (sock.destroy(), resolve({ messages, closed: false })), ms);
    sock.on('error', () => {});
    sock.on('connect', () => payload && sock.write(payload));
    sock.on('data', (d) => {
      text += d.toString('utf8');
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        messages.push(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
        text = text.slice(nl + 1);
      }
    });
    sock.on('close', () => (clearTimeout(timer), resolve({ messages, closed: true })));
  });
}

/** Sends `payload`, shuts its own side at once, and collects every answer until the helper ends. */
function halfClose(socketPath: string, payload: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const sock = connect({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => (sock.destroy(), reject(new Error(`no end after a half-close; got ${JSON.stringify(text)}`))), 10_000);
    sock.on('connect', () => sock.end(payload));
    sock.on('data', (d) => (text += d.toString('utf8')));
    sock.on('end', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    });
  });
}

function errorOf(message: Record<string, unknown> | undefined): { code: number; message: string } {
  return message?.error as { code: number; message: string };
}

describe('idle and incomplete requests', () => {
  it('closes a connection that started a line and never ended it, saying why, and serves the next one', async () => {
    const { socketPath, logs } = await startTestDaemon({ limits: { lineTimeoutMs: 200 } });
    const { messages, closed } = await untilClosed(socketPath, '{"jsonrpc":"2.0","id":1,"meth');
    expect(closed).toBe(true);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.Timeout } });
    expect(errorOf(messages[0]).message).toBe('incomplete request: no end of line within 200 ms of its start; connection closed');
    expect(logs.join('\n')).toContain('a request line still incomplete after 200 ms');
    expect((await exchange(socketPath, request(2, 'hello'), 1)).messages[0]?.result).toBeDefined();
  });

  it('does not time out a client that keeps sending whole lines', async () => {
    const { socketPath } = await startTestDaemon({ limits: { lineTimeoutMs: 300 } });
    const sock = connect(socketPath);
    let answers = 0;
    let closed = false;
    let answered: () => void = () => {};
    sock.on('data', (d) => {
      answers += d.toString().split('\n').length - 1;
      answered();
    });
    sock.on('close', () => (closed = true));
    await new Promise((r) => sock.once('connect', r));
    const answersReach = (n: number) => new Promise<void>((r) => (answered = () => answers >= n && r()));
    // The line clock is the daemon's setTimeout: faked, so the test moves it, not the machine's load.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      // Each write ends one line and starts the next: a line is never open longer than 200 of the
      // 300 ms, while 8 × 200 ms pass in all.
      for (let i = 0; i < 8; i++) {
        let reached = answersReach(2 * i + 1);
        sock.write(`${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'hello' })}\n{"jsonrpc":"2.0",`);
        await reached;
        vi.advanceTimersByTime(200);
        reached = answersReach(2 * i + 2);
        sock.write(`"id":${100 + i},"method":"hello"}\n`);
        await reached;
      }
      expect(closed).toBe(false);
      expect(answers).toBe(16);
      // The control: a line left open past the limit is closed.
      const closing = new Promise((r) => sock.once('close', r));
      sock.write('{"jsonrpc":"2.0",');
      // Its clock starts when the helper reads the bytes; the test cannot see that, so it moves
      // the clock on each turn until the helper closes.
      while (!closed) {
        vi.advanceTimersByTime(300);
        await new Promise((r) => setImmediate(r));
      }
      await closing;
      expect(closed).toBe(true);
    } finally {
      vi.useRealTimers();
      sock.destroy();
    }
  });

  it('closes an idle connection, but not one subscribed to events', async () => {
    const { socketPath } = await startTestDaemon({ limits: { idleTimeoutMs: 200 } });
    const idle = await untilClosed(socketPath, '');
    expect(idle.closed).toBe(true);
    expect(idle.messages[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.Timeout, message: expect.stringContaining('idle for 200 ms') } });
    const subscribed = await untilClosed(socketPath, request(1, 'subscribe'), 1500);
    expect(subscribed.closed).toBe(false);
    expect(subscribed.messages[0]).toMatchObject({ id: 1, result: { subscribed: true } });
  });
});

describe('connection caps', () => {
  it('answers "busy" (and closes) past the connection cap instead of resetting, and frees the slot on close', async () => {
    const { socketPath, logs, daemon } = await startTestDaemon({ limits: { maxConnections: 3, maxConnectionsPerUid: 100 } });
    const held: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = connect(socketPath);
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    // The helper counts a connection once it has looked at its credentials: ask each one something.
    await Promise.all(held.map((s, i) => new Promise((r) => (s.once('data', r), s.write(request(i, 'hello'))))));
    const refused = await untilClosed(socketPath, request(9, 'hello'));
    expect(refused.closed).toBe(true);
    expect(refused.messages).toEqual([{ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.Busy, message: 'busy: the helper serves 3 connections already (limit 3); try again shortly' } }]);
    expect(logs.join('\n')).toMatch(/busy: refused pid \d+ of uid \d+/);
    held.pop()!.destroy();
    // The slot is free once the helper has seen the close, however long that takes here.
    while (daemon.connections() > 2) await new Promise((r) => setTimeout(r, 10));
    expect((await exchange(socketPath, request(10, 'hello'), 1)).messages[0]?.result).toBeDefined();
    for (const s of held) s.destroy();
  });

  it.skipIf(!isRoot)('256 idle connections of one uid do not lock out another uid (as root: the flood runs as nobody)', async () => {
    const { socketPath } = await startTestDaemon({ helperYaml: `helper: { users: [${NOBODY}] }` });
    // Opens 256 connections at once, holds them, and reports what each got: an answer, "busy", or
    // a close without a word (refusals past the few that may wait to be read are closed at once).
    const FLOOD = `
      const net = require('node:net');
      let busy = 0, served = 0, unanswered = 0, done = 0, busyMessage = null;
      const settle = () => { if (++done === 256) process.stdout.write(JSON.stringify({ busy, served, unanswered, message: busyMessage }) + '\\n'); };
      for (let i = 0; i < 256; i++) {
        const s = net.connect(process.argv[1]);
        let text = '', settled = false;
        s.on('error', () => {});
        s.on('connect', () => s.write(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'hello' }) + '\\n'));
        s.on('data', (d) => {
          text += d;
          if (settled || !text.includes('\\n')) return;
          settled = true;
          const m = JSON.parse(text.split('\\n')[0]);
          if (m.error && m.error.code === ${RpcErrorCode.Busy}) { busy++; busyMessage = m.error.message; } else if (m.result) served++;
          settle();
        });
        s.on('close', () => { if (!settled) { settled = true; unanswered++; settle(); } });
      }
      process.stdin.on('data', () => process.exit(0));
    `;
    const child = spawn(process.execPath, ['-e', FLOOD, socketPath], { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const report = await new Promise<{ busy: number; served: number; unanswered: number; message: string | null }>((resolve) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(JSON.parse(out) as never);
        });
      });
      expect(report.served).toBe(32);
      // The first refusals say why (4 may wait to be read at once); the rest are closed at once.
      expect(report.busy).toBeGreaterThanOrEqual(4);
      expect(report.busy + report.unanswered).toBe(224);
      expect(report.message).toBe('busy: uid 65534 (nobody) already has 32 connections to the helper open (limit 32 per user); close some and try again');
      // The flood still holds its 32 connections: root gets in all the same.
      const { messages } = await exchange(socketPath, request(1, 'hello'), 1);
      expect(messages[0]).toMatchObject({ id: 1, result: { uid: 0 } });
    } finally {
      child.stdin.write('bye\n');
      await new Promise((r) => child.once('exit', r));
    }
  }, 30_000);
});

describe('backpressure', () => {
  it('a client that never reads cannot grow the helper past its buffer bounds; others are still served', async () => {
    const limits = { pauseAboveBytes: 64 * 1024, maxBufferedBytes: 512 * 1024, maxTotalBufferedBytes: 1024 * 1024 };
    const { socketPath, service, daemon, logs } = await startTestDaemon({ limits });
    // Each history answer is ~100 KB: 50 entries of ~2 KB.
    for (let i = 0; i < 50; i++) service.entries.push({ id: `e${i}`, gpu: 'gpu0', from: 'host', to: 'win', requestedBy: 'cli', outcome: 'succeeded', startedAt: new Date().toISOString(), steps: [], note: 'x'.repeat(2000) });
    const greedy: Socket[] = [];
    for (let c = 0; c < 6; c++) {
      const s = connect(socketPath);
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.pause(); // never reads: the answers pile up in the helper
      s.write(Array.from({ length: 300 }, (_, i) => request(i, 'history', { limit: 50 })).join(''));
      greedy.push(s);
    }
    // Wait until the helper has stopped moving: every greedy client paused or dropped.
    let last = -1;
    for (let still = 0, i = 0; still < 5 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = daemon.stats().bufferedBytes;
      still = now === last ? still + 1 : 0;
      last = now;
    }
    const stats = daemon.stats();
    expect(stats.peakBufferedBytes).toBeGreaterThan(limits.pauseAboveBytes);
    expect(stats.peakBufferedBytes).toBeLessThanOrEqual(limits.maxTotalBufferedBytes);
    expect(stats.bufferedBytes).toBeLessThanOrEqual(limits.maxTotalBufferedBytes);
    // Reading stopped: far fewer than the 1,800 requests sent were served.
    expect(service.historyCalls).toBeLessThan(6 * 300);
    expect((await exchange(socketPath, request(1, 'hello'), 1)).messages[0]?.result).toBeDefined();
    for (const s of greedy) s.destroy();
    expect(logs.filter((l) => l.startsWith('dropped')).length).toBeLessThanOrEqual(10);
  });
  it('one answer larger than the per-connection bound still reaches a client that reads', async () => {
    const { socketPath, service } = await startTestDaemon({ limits: { maxBufferedBytes: 32 * 1024, pauseAboveBytes: 16 * 1024 } });
    for (let i = 0; i < 50; i++) service.entries.push({ id: `e${i}`, gpu: 'gpu0', from: 'host', to: 'win', requestedBy: 'cli', outcome: 'succeeded', startedAt: new Date().toISOString(), steps: [], note: 'x'.repeat(2000) });
    const { messages } = await exchange(socketPath, request(1, 'history', { limit: 50 }), 1);
    expect((messages[0]?.result as { entries: unknown[] }).entries).toHaveLength(50);
  });
});

describe('logs', () => {
  it('a flood of refused connections writes a bounded number of lines, and counts the rest', async () => {
    const lines: string[] = [];
    const daemon = await startDaemon({
      service: new FakeService(),
      config: testConfig(),
      socketPath: `${(await startTestDaemon()).socketPath}.refusing`,
      authorize: (peer) => ({ allowed: false, reason: `uid ${peer.uid} may not` }),
      log: (l) => lines.push(l),
      logLimit: { burst: 10, windowMs: 60_000 },
    });
    const FLOODED = 1000;
    for (let batch = 0; batch < FLOODED / 50; batch++) {
      await Promise.all(Array.from({ length: 50 }, () => untilClosed(daemon.socketPath, '')));
    }
    expect(daemon.stats().suppressedLogLines).toBe(FLOODED - 10);
    await daemon.close();
    const refused = lines.filter((l) => l.startsWith('refused pid'));
    expect(refused).toHaveLength(10);
    expect(lines.filter((l) => l.startsWith(`refused: ${FLOODED - 10} more like it`))).toHaveLength(1);
  }, 60_000);
});

describe('half-closed clients', () => {
  it('get their answers to status, reconcile and switch', async () => {
    const { socketPath, service } = await startTestDaemon();
    service.switchDelayMs = 200;
    const answers = await halfClose(socketPath, request(1, 'status') + request(2, 'reconcile') + request(3, 'switch', { gpu: 'gpu0', target: 'win', requestedBy: 'cli' }));
    const byId = new Map(answers.map((m) => [m.id, m]));
    expect(byId.get(1)?.result).toMatchObject({ gpus: [{ name: 'gpu0' }] });
    expect(byId.get(2)?.result).toEqual({ findings: [] });
    expect(byId.get(3)?.result).toMatchObject({ outcome: 'succeeded', owner: 'win' });
  });

  it('get an answer to a last request sent without its newline', async () => {
    const { socketPath } = await startTestDaemon();
    const answers = await halfClose(socketPath, request(1, 'hello').trimEnd());
    expect(answers).toEqual([expect.objectContaining({ id: 1, result: expect.objectContaining({ protocol: PROTOCOL_VERSION }) })]);
  });
});

describe('where the socket goes', () => {
  it('--socket under /proc fails at once, naming the path (no endless mkdir)', async () => {
    await expect(startDaemon({ service: new FakeService(), config: testConfig(), socketPath: '/proc/baton-test/helper.sock', log: () => {} })).rejects.toThrow(
      'cannot use /proc/baton-test for the helper socket: folders cannot be made under /proc',
    );
    const err = (await startHelper({ simulate: true, socket: '/proc/baton-test/x/helper.sock' }, { real: async () => new FakeService(), simulated: async () => new FakeService(), simulatedConfig: () => testConfig() }, () => {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('refusing to start: cannot use /proc/baton-test/x for the helper socket: folders cannot be made under /proc');
  });
});
