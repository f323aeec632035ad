// Clients running as another uid: a child process started with setuid/setgid (the tests run as
// root), so the helper's SO_PEERCRED check sees that uid, as it would see a real other user. The
// scripts use plain node:net and nothing from the repository.
import { spawn } from 'node:child_process';

export interface PeerAnswer {
  /** Every line the helper sent, parsed. */
  messages: { id?: number | null; result?: unknown; error?: { code: number; message: string } }[];
  closedByHelper: boolean;
  connectError?: string;
}

// argv: socket path, payload. Prints { messages, closedByHelper, connectError } on exit.
const ONE_CLIENT = `
const [path, payload] = process.argv.slice(1);
const sock = require('node:net').connect(path);
let buf = '', done = false;
const messages = [];
const finish = (closedByHelper, connectError) => {
  if (done) return; done = true;
  process.stdout.write(JSON.stringify({ messages, closedByHelper, ...(connectError ? { connectError } : {}) }));
  process.exit(0);
};
setTimeout(() => finish(false), 5000);
sock.on('connect', () => sock.write(payload));
sock.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { messages.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); } });
sock.on('error', (e) => { if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') finish(false, e.code); });
sock.on('close', () => finish(true));
`;

// argv: socket path, count, kept (how many send hello; the rest send the payload). Opens the
// connections one after another, each left open, and prints each one's first answer.
const FLOOD = `
const [path, countText, keptText, payload] = process.argv.slice(1);
const count = Number(countText), kept = Number(keptText);
const net = require('node:net');
const hello = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello' }) + '\\n';
const open = [], answers = [];
const one = (i) => new Promise((resolve) => {
  const sock = net.connect(path);
  open.push(sock);
  let buf = '';
  const t = setTimeout(() => resolve({ i, none: true }), 5000);
  sock.on('connect', () => sock.write(i < kept ? hello : payload));
  sock.on('data', (d) => { buf += d; const n = buf.indexOf('\\n'); if (n >= 0) { clearTimeout(t); resolve({ i, answer: JSON.parse(buf.slice(0, n)) }); } });
  sock.on('error', (e) => { clearTimeout(t); resolve({ i, connectError: e.code }); });
});
(async () => {
  for (let i = 0; i < count; i++) answers.push(await one(i));
  process.stdout.write(JSON.stringify(answers));
  for (const s of open) s.destroy();
  process.exit(0);
})();
`;

function runAs<T>(uid: number, gid: number, script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], { uid, gid, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || stderr) return reject(new Error(`client as uid ${uid} exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout) as T);
    });
  });
}

/** Connects as uid:gid, sends `payload`, returns what the helper answered. */
export function connectAs(uid: number, gid: number, socketPath: string, payload: string): Promise<PeerAnswer> {
  return runAs<PeerAnswer>(uid, gid, ONE_CLIENT, [socketPath, payload]);
}

export type FloodAnswer = { i: number; answer?: PeerAnswer['messages'][number]; connectError?: string; none?: true };

/** Opens `count` connections as uid:gid and keeps them; the first `kept` send hello, the rest `payload`. */
export function floodAs(uid: number, gid: number, socketPath: string, count: number, kept: number, payload: string): Promise<FloodAnswer[]> {
  return runAs<FloodAnswer[]>(uid, gid, FLOOD, [socketPath, String(count), String(kept), payload]);
}

export function line(id: number, method: string, params?: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }) + '\n';
}
