// Who may connect, checked by SO_PEERCRED on real connections from processes running as other
// uids (the tests run as root, so they can start clients as nobody), and the socket file itself.
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../../app/protocol/rpc-errors.js';
import { startDaemon } from '../../../../app/helper/daemon/daemon.js';
import { FakeService } from './fake-service.js';
import { cleanup, exchange, request, startTestDaemon, tempSocketDir, testConfig } from './harness.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('peer-access.test: SKIPPED the tests of who may connect: they must run as root to start clients as other uids\n');

afterEach(cleanup);

// Sends hello and prints every line it gets back; plain node:net so it needs nothing from the repo.
const CLIENT = `
const sock = require('node:net').connect(process.argv[1]);
let out = '';
sock.on('connect', () => sock.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello' }) + '\\n'));
sock.on('data', (d) => { out += d; if (out.includes('"result"')) sock.end(); });
sock.on('error', (e) => { out += JSON.stringify({ connectError: e.code }) + '\\n'; });
sock.on('close', () => { process.stdout.write(out); process.exit(0); });
`;

function runClientAs(uid: number, gid: number, socketPath: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT, socketPath], { uid, gid, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', () => {
      if (stderr) return reject(new Error(stderr));
      resolve(stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    });
  });
}

describe.skipIf(!isRoot)('who may connect (as root: clients run as other uids)', () => {
  it('refuses a uid that is not allowed, naming it, and closes the connection', async () => {
    // A listed user outside the group widens the socket to 0666, so nobody reaches the credentials check.
    const { socketPath, logs, service } = await startTestDaemon({ helperYaml: 'helper: { group: batontestgroup, users: [4000] }' });
    const messages = await runClientAs(NOBODY, NOBODY, socketPath);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.NotAuthorized } });
    const message = (messages[0]?.error as { message: string }).message;
    expect(message).toBe('uid 65534 (nobody) may not use the Baton helper: only root, members of group batontestgroup (no such group on this system) and the users in helper.users may');
    expect(logs.join('\n')).toContain('refused pid');
    expect(service.calls).toHaveLength(0);
    // root still gets in afterwards
    const { messages: rootAnswer } = await exchange(socketPath, request(1, 'hello'), 1);
    expect(rootAnswer[0]?.result).toMatchObject({ uid: 0 });
  });

  it('lets in a uid listed in helper.users', async () => {
    const { socketPath } = await startTestDaemon({ helperYaml: `helper: { users: [${NOBODY}] }` });
    const messages = await runClientAs(NOBODY, NOBODY, socketPath);
    expect(messages[0]).toMatchObject({ id: 1, result: { protocol: 2, uid: NOBODY } });
  });

  it('lets in a member of helper.group, and the socket is 0660 to that group', async () => {
    const dir = tempSocketDir();
    const group = join(dir, 'group');
    writeFileSync(group, 'root:x:0:\nbatonusers:x:4242:someone\n');
    const { socketPath } = await startTestDaemon({ helperYaml: 'helper: { group: batonusers }', accountFiles: { passwd: '/etc/passwd', group } });
    const st = statSync(socketPath);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(4242);
    const messages = await runClientAs(NOBODY, 4242, socketPath);
    expect(messages[0]).toMatchObject({ id: 1, result: { uid: NOBODY } });
    // Without the group, the file mode already keeps nobody out.
    expect(await runClientAs(NOBODY, NOBODY, socketPath)).toEqual([{ connectError: 'EACCES' }]);
  });
});

describe('the socket file', () => {
  it('creates the parent folder 0755 and removes the socket on close', async () => {
    const socketPath = join(tempSocketDir(), 'run', 'baton', 'helper.sock');
    const { daemon } = await startTestDaemon({ socketPath });
    expect(statSync(join(socketPath, '..')).mode & 0o777).toBe(0o755);
    expect(statSync(socketPath).isSocket()).toBe(true);
    await daemon.close();
    expect(existsSync(socketPath)).toBe(false);
  });

  it('replaces a stale socket that nothing answers on', async () => {
    const socketPath = join(tempSocketDir(), 'helper.sock');
    // A socket file left behind by a helper killed with SIGKILL: nothing had the chance to unlink it.
    const listener = spawn(process.execPath, ['-e', "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))", socketPath]);
    await new Promise((r) => listener.stdout.once('data', r));
    listener.kill('SIGKILL');
    await new Promise((r) => listener.once('exit', r));
    expect(existsSync(socketPath)).toBe(true);
    const { socketPath: path } = await startTestDaemon({ socketPath });
    const { messages } = await exchange(path, request(1, 'hello'), 1);
    expect(messages[0]?.result).toBeDefined();
  });

  it('refuses to start while another helper answers on the socket, and leaves it alone', async () => {
    const { socketPath } = await startTestDaemon();
    await expect(startDaemon({ service: new FakeService(), config: testConfig(), socketPath, log: () => {} })).rejects.toThrow(
      `another helper is already answering on ${socketPath}`,
    );
    const { messages } = await exchange(socketPath, request(1, 'hello'), 1);
    expect(messages[0]?.result).toBeDefined();
  });

  it('refuses to start when the path is a regular file, and does not delete it', async () => {
    const socketPath = join(tempSocketDir(), 'helper.sock');
    writeFileSync(socketPath, 'precious');
    await expect(startDaemon({ service: new FakeService(), config: testConfig(), socketPath, log: () => {} })).rejects.toThrow(/exists and is not a socket/);
    expect(statSync(socketPath).isFile()).toBe(true);
  });
});
