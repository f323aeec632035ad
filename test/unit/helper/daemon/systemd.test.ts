// The systemd units: they parse (systemd-analyze verify, when present), say what the helper
// needs, and socket activation hands the daemon a working listening socket.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { takeSystemdListenFd } from '../../../../app/helper/daemon/listen.js';
import { connectHelper } from '../../../../app/protocol/helper-client.js';
import { DEFAULT_SOCKET_PATH } from '../../../../app/protocol/helper-protocol.js';
import { DEFAULT_CONFIG_PATH } from '../../../../app/domain/config/index.js';
import { cleanup, tempSocketDir } from './harness.js';

afterEach(cleanup);

const UNITS = fileURLToPath(new URL('../../../../assets/systemd/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Section → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

// The activated helper is TypeScript run by plain node under systemd-socket-activate: jiti's ESM
// loader (installed with electron-builder; `npm run bench:ui` uses it too) compiles it on import.
// A missing loader fails the test (the child's stderr names it) instead of skipping it.
const canActivate = has('systemd-socket-activate');
if (!canActivate) process.stdout.write('systemd.test: SKIPPED the socket-activation run: systemd-socket-activate is not installed (test/lab/setup.sh installs systemd)\n');
if (!has('systemd-analyze')) process.stdout.write('systemd.test: SKIPPED systemd-analyze verify: systemd-analyze is not installed\n');

const unit = (name: string) => parseUnit(readFileSync(join(UNITS, name), 'utf8'));

describe('systemd units', () => {
  it('the service runs `baton helper` on the root config and restarts on failure', () => {
    const service = unit('baton-helper.service').get('Service')!;
    expect(service.get('ExecStart')).toEqual([`/usr/lib/baton/baton helper --config ${DEFAULT_CONFIG_PATH}`]);
    expect(service.get('Restart')).toEqual(['on-failure']);
    // Hardening that would break sysfs writes or /dev/vfio must stay out.
    expect(service.get('ProtectKernelTunables')).toBeUndefined();
    expect(service.get('PrivateDevices')).toBeUndefined();
    expect(unit('baton-helper.service').get('Unit')!.get('Requires')).toEqual(['baton-helper.socket']);
  });

  it('the service starts after the hypervisor daemons it may use, without pulling them in', () => {
    const section = unit('baton-helper.service').get('Unit')!;
    const after = (section.get('After') ?? []).flatMap((v) => v.split(/\s+/));
    for (const daemon of ['libvirtd.service', 'virtqemud.service', 'xenstored.service']) expect(after).toContain(daemon);
    // Wants=/Requires= would start libvirt or Xen on a machine that uses neither.
    const pulled = [...(section.get('Wants') ?? []), ...(section.get('Requires') ?? [])].flatMap((v) => v.split(/\s+/));
    expect(pulled).toEqual(['baton-helper.socket']);
  });

  it('the socket listens where clients look, 0660 to group baton', () => {
    const socket = unit('baton-helper.socket').get('Socket')!;
    expect(socket.get('ListenStream')).toEqual([DEFAULT_SOCKET_PATH]);
    expect(socket.get('SocketMode')).toEqual(['0660']);
    expect(socket.get('SocketGroup')).toEqual(['baton']);
  });

  it.skipIf(!has('systemd-analyze'))('both units pass systemd-analyze verify without a warning', () => {
    const dir = tempSocketDir();
    // verify insists the ExecStart binary exists; the installed path does not here.
    const service = readFileSync(join(UNITS, 'baton-helper.service'), 'utf8').replace('/usr/lib/baton/baton', '/bin/true');
    writeFileSync(join(dir, 'baton-helper.service'), service);
    copyFileSync(join(UNITS, 'baton-helper.socket'), join(dir, 'baton-helper.socket'));
    const run = spawnSync('systemd-analyze', ['verify', join(dir, 'baton-helper.service'), join(dir, 'baton-helper.socket')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

describe('socket activation', () => {
  it('takes fd 3 only when LISTEN_PID is this process, and clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '1', LISTEN_FDNAMES: 'x' };
    expect(takeSystemdListenFd(env, 42)).toBe(3);
    expect(env).toEqual({});
    expect(takeSystemdListenFd({ LISTEN_PID: '41', LISTEN_FDS: '1' }, 42)).toBeNull();
    expect(takeSystemdListenFd({}, 42)).toBeNull();
    expect(() => takeSystemdListenFd({ LISTEN_PID: '42', LISTEN_FDS: '2' }, 42)).toThrow(/exactly one ListenStream/);
  });

  it.skipIf(!canActivate)(
    'serves on the socket systemd opened, answering the connection that woke it',
    async () => {
      const socketPath = join(tempSocketDir(), 'helper.sock');
      const child = spawn('systemd-socket-activate', ['-l', socketPath, process.execPath, '--import', 'jiti/register', join(ROOT, 'test/unit/helper/daemon/activated-helper.ts'), socketPath], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      // systemd-socket-activate says "Listening on PATH as 3." once the socket is bound.
      const listening = new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d) => {
          stderr += d;
          if (stderr.includes('Listening on')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`systemd-socket-activate exited (${code}) before listening: ${stderr}`)));
      });
      try {
        await listening;
        expect(existsSync(socketPath)).toBe(true);
        // The first connection is what starts the helper; it waits in the backlog meanwhile.
        // jiti compiles the daemon before it accepts: allow for a cold cache on a loaded machine.
        const client = await connectHelper(socketPath, { callTimeoutsMs: { status: 240_000 } });
        const status = await client.call('status');
        expect(status.gpus[0]?.name, stderr).toBe('gpu0');
        client.close();
        expect(stderr).toContain('listening on fd 3');
        expect(stderr).toContain('activated env cleared: true');
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
    300_000,
  );
});
