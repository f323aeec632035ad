// One helper per state folder: a second helper started while the first is mid-switch (the real
// engine on the simulated workstation, slowed down) says who holds the folder and stops before
// reading or writing anything in it; the first one's switch finishes. The lock is the kernel's
// (flock), so it holds across processes and goes when its holder dies.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper, type ServiceFactories } from '../../../../app/cli/commands/helper.js';
import { runCli } from '../../../../app/cli/main.js';
import type { Daemon } from '../../../../app/helper/daemon/daemon.js';
import { lockStateFolder, probeStateFolder } from '../../../../app/helper/daemon/instance-lock.js';
import { simulatedService } from '../../../../app/helper/compose.js';
import { simulatedConfigYaml } from '../../../../app/helper/simulate/config.js';
import type { ServiceEvent } from '../../../../app/domain/switch/service.js';
import { connectHelper } from '../../../../app/protocol/helper-client.js';
import { FakeService } from './fake-service.js';
import { cleanup, tempSocketDir } from './harness.js';

const running: Daemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
  await cleanup();
});

/** Every file under `dir` with its bytes and mtime, to show that nothing was touched. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) Object.assign(out, snapshot(path, `${prefix}${name}/`));
    else if (st.isFile()) out[`${prefix}${name}`] = `${st.mtimeMs} ${readFileSync(path).toString('base64')}`;
    else out[`${prefix}${name}`] = `${st.mode.toString(8)} ${st.mtimeMs}`;
  }
  return out;
}

const ownComm = readFileSync('/proc/self/comm', 'utf8').trim();

function simulatedConfigFile(): { file: string; state: string } {
  const state = tempSocketDir();
  const file = join(state, 'baton.yaml');
  writeFileSync(file, simulatedConfigYaml({ stateDir: state }));
  return { file, state };
}

describe('one helper per state folder', () => {
  it('a second helper started mid-switch names the first and touches nothing; the first switch finishes', async () => {
    const { file, state } = simulatedConfigFile();
    const made: string[] = [];
    // The real engine on the simulated workstation, every latency ×4: the attach alone takes 1.2 s.
    const factories: ServiceFactories = {
      real: async () => new FakeService(),
      simulated: async (config) => (made.push(config.helper.journal), simulatedService(config, 4)),
    };
    const first = await startHelper({ simulate: true, config: file, insecureConfig: true }, factories, () => {});
    running.push(first);
    const client = await connectHelper(first.socketPath);
    const attaching = new Promise<void>((resolve) => client.onEvent((e: ServiceEvent) => e.kind === 'step-started' && e.step === 'attach' && resolve()));
    await client.call('subscribe');
    const switched = client.call('switch', { gpu: 'gpu-a', target: 'win11', requestedBy: 'cli' });
    await attaching;

    const before = snapshot(state);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['helper.lock', 'ownership.json']));
    // Another socket, so the lock is what stops it (not the first one's socket answering).
    const err = (await startHelper({ simulate: true, config: file, insecureConfig: true, socket: join(tempSocketDir(), 'second.sock') }, factories, () => {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      `refusing to start: another Baton helper holds ${join(state, 'helper.lock')} (pid ${process.pid}, ${ownComm}); stop it first (systemctl stop baton-helper); nothing was read or changed`,
    );
    expect(snapshot(state)).toEqual(before);
    expect(made).toHaveLength(1); // the second never built a service: no recovery, no reconcile

    const result = await switched;
    expect(result).toMatchObject({ outcome: 'succeeded', owner: 'win11' });
    const status = await client.call('status');
    expect(status.gpus.find((g) => g.name === 'gpu-a')?.owner).toBe('win11');
    client.close();
  }, 60_000);

  it('names a holder in another process (from /proc/locks), exits the CLI non-zero, and frees the folder when that process dies', async () => {
    const { file, state } = simulatedConfigFile();
    // A process that holds the folder the way a helper does: flock(LOCK_EX) on helper.lock.
    const HOLDER = `
      const fs = require('node:fs');
      const koffi = require('koffi');
      const flock = koffi.load('libc.so.6').func('int flock(int fd, int operation)');
      const fd = fs.openSync(process.argv[1], 'w');
      if (flock(fd, 2 | 4) !== 0) process.exit(3);
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', HOLDER, join(state, 'helper.lock')], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => child.stdout.once('data', r));
      const before = snapshot(state);
      const probe = probeStateFolder(state);
      expect(probe.holder).toEqual({ pid: child.pid, comm: 'node' });
      let stderr = '';
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
      let code: number;
      try {
        code = await runCli(['helper', '--simulate', '--config', file, '--insecure-config']);
      } finally {
        process.stderr.write = write;
      }
      expect(code).toBe(1);
      expect(stderr).toContain(`another Baton helper holds ${join(state, 'helper.lock')} (pid ${child.pid}, node)`);
      expect(snapshot(state)).toEqual(before);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // The kernel dropped the dead holder's lock: the folder is free.
    const lock = lockStateFolder(state);
    expect(readFileSync(join(state, 'helper.lock'), 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  }, 30_000);

  it('refuses a lock file that is a symlink (O_NOFOLLOW), leaving its target alone', async () => {
    const state = tempSocketDir();
    const target = join(tempSocketDir(), 'precious');
    writeFileSync(target, 'keep me');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(target, join(state, 'helper.lock'));
    expect(() => lockStateFolder(state)).toThrow(/ELOOP/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });
});
