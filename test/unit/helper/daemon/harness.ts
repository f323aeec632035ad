// Shared by the daemon and CLI client tests: a config, a daemon on a socket in a temp folder,
// and a raw line-level client for sending what a well-behaved client never would.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type BatonConfig } from '../../../../app/domain/config/index.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../../../app/helper/daemon/daemon.js';
import { FakeService } from './fake-service.js';

export function testConfig(helperYaml = 'helper: {}'): BatonConfig {
  const text = `${helperYaml}
gpus:
  - name: gpu0
    match: { address: "01:00.0" }
vms:
  - { name: win, backend: qmp, socket: /run/qemu/win.qmp }
  - { name: broken, backend: qmp, socket: /run/qemu/broken.qmp }
`;
  const result = parseConfig(text, 'test.yaml');
  if (!result.ok) throw new Error(`test config: ${JSON.stringify(result.errors)}`);
  return result.config;
}

const dirs: string[] = [];

/** A folder every uid can traverse, so a client running as nobody reaches the socket in it. */
export function tempSocketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-helper-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

/**
 * A folder for a real-mode helper's state: root-owned and not writable by others up to / (the
 * helper refuses state under a world-writable folder such as /tmp). Under /run when root.
 */
export function tempStateDir(): string {
  const base = process.getuid?.() === 0 ? '/run' : tmpdir();
  const dir = mkdtempSync(join(base, 'baton-test-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

export interface TestDaemon {
  daemon: Daemon;
  service: FakeService;
  socketPath: string;
  logs: string[];
}

const daemons: Daemon[] = [];

export async function startTestDaemon(opts: Partial<DaemonOptions> & { helperYaml?: string } = {}): Promise<TestDaemon> {
  const service = new FakeService();
  const logs: string[] = [];
  const socketPath = opts.socketPath ?? join(tempSocketDir(), 'helper.sock');
  const daemon = await startDaemon({ service, config: testConfig(opts.helperYaml), socketPath, log: (l) => logs.push(l), ...opts });
  daemons.push(daemon);
  return { daemon, service, socketPath, logs };
}

export async function cleanup(): Promise<void> {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface Exchange {
  /** Every line received, parsed. */
  messages: Record<string, unknown>[];
  /** The helper closed the connection. */
  closed: boolean;
}

/** Sends raw bytes and collects answers until `count` lines arrived, the helper closed, or 3 s passed. */
export function exchange(socketPath: string, payload: string | Buffer, count: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const messages: Record<string, unknown>[] = [];
    let buffered = '';
    const sock = connect(socketPath);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ messages, closed });
    };
    const timer = setTimeout(() => finish(false), 3000);
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    sock.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        messages.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
      if (messages.length >= count) finish(false);
    });
    sock.on('close', () => finish(true));
    sock.on('connect', () => sock.write(payload));
  });
}

export function request(id: number, method: string, params?: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n';
}
