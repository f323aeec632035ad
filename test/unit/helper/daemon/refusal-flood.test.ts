// A flood of refused connections must not crowd anyone out: tried against the real daemon over its
// socket with real processes of other uids (the tests run as root, so they can start clients as
// others). One uid the config does not allow, and one it does, each keep a thousand connections
// coming; meanwhile a third, allowed uid asks for `status` and gets its answer, and a refused
// client that is not flooding still reads why it was refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../../app/protocol/rpc-errors.js';
import { cleanup, startTestDaemon } from './harness.js';

const NOBODY = 65534;
const NOT_ALLOWED = 4001;
const ALLOWED_FLOODER = 4002;
const NOT_ALLOWED_QUIET = 4003;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('refusal-flood.test: SKIPPED: it must run as root to start clients as other uids\n');

afterEach(cleanup);

// Keeps `count` connections coming until stdin says stop: each sends hello, never reads on purpose
// beyond collecting what comes, and is replaced by a new one as soon as it closes. Reports what the
// connections got, by error code ("result" for an answer, "none" for a close without a word).
const FLOOD = `
const net = require('node:net');
const [path, count] = process.argv.slice(1);
let stopping = false, connects = 0, ready = false;
const got = {};
const one = () => {
  if (stopping) return;
  connects++;
  if (!ready && connects >= Number(count) * 2) { ready = true; process.stdout.write('ready\\n'); }
  const s = net.connect(path);
  let text = '';
  s.on('error', () => {});
  s.on('connect', () => s.write('{"jsonrpc":"2.0","id":1,"method":"hello"}\\n'));
  s.on('data', (d) => (text += d));
  s.on('close', () => {
    const line = text.split('\\n')[0];
    const key = line ? String(JSON.parse(line).error ? JSON.parse(line).error.code : 'result') : 'none';
    got[key] = (got[key] || 0) + 1;
    setImmediate(one);
  });
};
for (let i = 0; i < Number(count); i++) one();
process.stdin.on('data', () => {
  stopping = true;
  process.stdout.write(JSON.stringify({ connects, got }) + '\\n');
  process.exit(0);
});
`;

// One call, as a real client makes it; a connect the kernel turns away (EAGAIN: the listen backlog
// is full for a moment) is tried again, as that is not the helper's doing. Prints the first line.
const ONE_CALL = `
const net = require('node:net');
const [path, method] = process.argv.slice(1);
let attempts = 0;
const tryOnce = () => {
  attempts++;
  const s = net.connect(path);
  let text = '';
  let retried = false;
  s.on('error', (e) => {
    if (e.code === 'EAGAIN' && attempts < 500) return (retried = true), setTimeout(tryOnce, 10);
    process.stdout.write(JSON.stringify({ connectError: e.code, attempts }) + '\\n');
    process.exit(0);
  });
  s.on('connect', () => s.write(JSON.stringify({ jsonrpc: '2.0', id: 7, method }) + '\\n'));
  s.on('data', (d) => {
    text += d;
    if (text.includes('\\n')) { process.stdout.write(text.split('\\n')[0] + '\\n'); process.exit(0); }
  });
  s.on('close', () => {
    if (retried) return;
    process.stdout.write(JSON.stringify({ closedWithoutAnswer: true, attempts }) + '\\n');
    process.exit(0);
  });
};
tryOnce();
`;

function runAs(uid: number, script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['-e', script, ...args], { uid, gid: uid, cwd: '/', stdio: ['pipe', 'pipe', 'inherit'] });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', () => reject(new Error(`exited before a line; got ${JSON.stringify(out)}`)));
  });
}

async function callAs(uid: number, socketPath: string, method: string): Promise<Record<string, unknown>> {
  return JSON.parse(await firstLine(runAs(uid, ONE_CALL, [socketPath, method]))) as Record<string, unknown>;
}

describe.skipIf(!isRoot)('a flood of refused connections (as root: clients run as other uids)', () => {
  it('one not-allowed and one allowed uid flooding do not keep a third uid from its status answer, and a refused client still reads why', async () => {
    const { socketPath, daemon, logs } = await startTestDaemon({ logLimit: { burst: 10, windowMs: 60_000 }, helperYaml: `helper: { users: [${NOBODY}, ${ALLOWED_FLOODER}] }` });
    const flooders = [runAs(NOT_ALLOWED, FLOOD, [socketPath, '1000']), runAs(ALLOWED_FLOODER, FLOOD, [socketPath, '1000'])];
    const reports = flooders.map((f) => new Promise<string>((resolve) => {
      let out = '';
      f.stdout!.on('data', (d) => {
        out += d;
        const lines = out.split('\n').filter(Boolean);
        if (lines.length >= 2) resolve(lines[1]!);
      });
    }));
    try {
      // Both are at it: each has made twice its thousand connections.
      await Promise.all(flooders.map(firstLine));
      const status = await callAs(NOBODY, socketPath, 'status');
      expect(status).toMatchObject({ id: 7, result: { gpus: [{ name: 'gpu0' }] } });
      const refused = await callAs(NOT_ALLOWED_QUIET, socketPath, 'hello');
      expect(refused).toMatchObject({ id: null, error: { code: RpcErrorCode.NotAuthorized, message: expect.stringContaining(`uid ${NOT_ALLOWED_QUIET} may not use the Baton helper`) } });
    } finally {
      for (const f of flooders) f.stdin!.write('stop\n');
    }
    const [notAllowed, allowed] = (await Promise.all(reports)).map((r) => JSON.parse(r) as { connects: number; got: Record<string, number> });
    // Thousands of connects each; the first refusals of each flooder were told why.
    expect(notAllowed!.connects).toBeGreaterThanOrEqual(2000);
    expect(notAllowed!.got[RpcErrorCode.NotAuthorized]).toBeGreaterThan(0);
    expect(allowed!.got[RpcErrorCode.Busy]).toBeGreaterThan(0);
    // Counted in the rate-limited log, not written one line each.
    expect(daemon.stats().suppressedLogLines).toBeGreaterThan(1000);
    expect(logs.filter((l) => l.startsWith('refused pid')).length).toBeLessThanOrEqual(10);
  }, 60_000);
});
