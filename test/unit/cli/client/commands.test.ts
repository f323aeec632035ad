// The client commands against a real daemon (with the fake service): what they print and how they exit.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../../app/cli/main.js';
import { runHistory } from '../../../../app/cli/commands/history.js';
import { runReconcile, runStatus } from '../../../../app/cli/commands/status.js';
import { runSwitch } from '../../../../app/cli/commands/switch.js';
import { UserError } from '../../../../app/cli/output.js';
import { cleanup, startTestDaemon, tempSocketDir } from '../../helper/daemon/harness.js';

afterEach(cleanup);

function collect() {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) }, out: () => out, err: () => err };
}

describe('baton switch', () => {
  it('prints one line per step start and end, then where the GPU is, and exits 0', async () => {
    const { socketPath, service } = await startTestDaemon();
    const c = collect();
    expect(await runSwitch('gpu0', 'win', { socket: socketPath }, c.io)).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines[0]).toBe('gpu0: host → win');
    expect(lines[1]).toBe('  claim … to vfio-pci');
    expect(lines[2]).toMatch(/^ {2}claim ok in \d+ ms$/);
    expect(lines[3]).toMatch(/^gpu0 is on win \(\d+(\.\d+)? m?s\)$/);
    expect(lines).toHaveLength(4);
    expect(c.err()).toBe('');
    expect(service.owner).toBe('win');
  });

  it('accepts the GPU by PCI address and follows its progress under the config name', async () => {
    const { socketPath } = await startTestDaemon();
    const c = collect();
    expect(await runSwitch('0000:01:00.0', 'park', { socket: socketPath }, c.io)).toBe(0);
    expect(c.out()).toContain('gpu0: host → park');
    expect(c.out()).toContain('gpu0 is on park');
  });

  it('exits 1 and says where the GPU is when the switch rolls back', async () => {
    const { socketPath } = await startTestDaemon();
    const c = collect();
    expect(await runSwitch('gpu0', 'broken', { socket: socketPath }, c.io)).toBe(1);
    expect(c.out()).toMatch(/ {2}claim FAILED after \d+ ms: device busy/);
    expect(c.err()).toBe('baton: gpu0 did not reach broken: rolled-back (claim failed: device busy); it is on host\n');
  });

  it('exits 1 with the helper’s message for an unknown target, and prints no progress', async () => {
    const { socketPath } = await startTestDaemon();
    const c = collect();
    await expect(runSwitch('gpu0', 'macos', { socket: socketPath }, c.io)).rejects.toThrow(new UserError('unknown target "macos": expected one of host, park, win, broken'));
    expect(c.out()).toBe('');
  });

  it('--json prints the result with whether the target was reached', async () => {
    const { socketPath } = await startTestDaemon();
    const c = collect();
    expect(await runSwitch('gpu0', 'win', { socket: socketPath, json: true }, c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ outcome: 'succeeded', owner: 'win', reached: true });
  });

  it('says how to start the helper when nothing listens', async () => {
    const socket = `${tempSocketDir()}/none.sock`;
    await expect(runSwitch('gpu0', 'win', { socket }, collect().io)).rejects.toThrow(/cannot reach the helper at .*none\.sock: no such socket; is the helper running\?/);
  });
});

describe('baton status', () => {
  it('--json keeps the documented shape', async () => {
    const { socketPath } = await startTestDaemon();
    const c = collect();
    expect(await runStatus({ socket: socketPath, json: true }, c.io)).toBe(0);
    const status = JSON.parse(c.out());
    expect(status).toMatchObject({ gpus: [{ name: 'gpu0', address: '0000:01:00.0', owner: 'host' }], vms: [{ name: 'win', state: 'running' }] });
  });

  it('prints a GPU table and a VM table', async () => {
    const { socketPath, service } = await startTestDaemon();
    service.owner = 'win';
    const c = collect();
    await runStatus({ socket: socketPath }, c.io);
    expect(c.out().split('\n').slice(0, 2)).toEqual(['GPU   ADDRESS       OWNER', 'gpu0  0000:01:00.0  win']);
    expect(c.out()).toMatch(/VM\s+BACKEND\s+STATE\nwin\s+qmp\s+running/);
  });
});

describe('baton reconcile', () => {
  it('prints each disagreement the helper found, or that there is none', async () => {
    const { socketPath, service } = await startTestDaemon();
    const quiet = collect();
    expect(await runReconcile({ socket: socketPath }, quiet.io)).toBe(0);
    expect(quiet.out()).toBe('The registry agrees with the machine.\n');
    service.reconcile = async () => ['registry says win holds gpu0, but win does not hold it'];
    const loud = collect();
    await runReconcile({ socket: socketPath, json: true }, loud.io);
    expect(JSON.parse(loud.out())).toEqual({ findings: ['registry says win holds gpu0, but win does not hold it'] });
  });
});

describe('baton history', () => {
  it('lists switches newest first, filtered and limited, and --json has the entries shape', async () => {
    const { socketPath } = await startTestDaemon();
    for (const target of ['win', 'host', 'broken', 'park']) await runSwitch('gpu0', target, { socket: socketPath, json: true }, collect().io);
    const c = collect();
    await runHistory({ socket: socketPath, json: true, limit: '2' }, c.io);
    const page = JSON.parse(c.out());
    expect(page.entries.map((e: { to: string }) => e.to)).toEqual(['park', 'broken']);
    expect(page.entries[1]).toMatchObject({ gpu: 'gpu0', from: 'host', outcome: 'rolled-back', requestedBy: 'cli', steps: [{ name: 'claim', outcome: 'failed' }] });

    const t = collect();
    await runHistory({ socket: socketPath, vm: 'win' }, t.io);
    const rows = t.out().trimEnd().split('\n');
    expect(rows[0]).toMatch(/^STARTED\s+GPU\s+MOVE\s+OUTCOME\s+BY\s+TOOK$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/)[2])).toEqual(['win → host', 'host → win']);
  });

  it('refuses a bad --limit before asking the helper', async () => {
    await expect(runHistory({ socket: '/nonexistent', limit: '0' }, collect().io)).rejects.toThrow('--limit 0: expected a whole number from 1 to 10000');
  });
});

describe('through the baton program', () => {
  it('`baton switch` exits 0 on success and 1 on a rollback; `baton status --json` prints the shape', async () => {
    const { socketPath } = await startTestDaemon();
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      process.exitCode = undefined;
      expect(await runCli(['switch', 'gpu0', 'win', '--socket', socketPath])).toBe(0);
      process.exitCode = undefined;
      expect(await runCli(['switch', 'gpu0', 'broken', '--socket', socketPath])).toBe(1);
      process.exitCode = undefined;
      out.length = 0;
      expect(await runCli(['status', '--json', '--socket', socketPath])).toBe(0);
    } finally {
      spy.mockRestore();
      errSpy.mockRestore();
      process.exitCode = undefined;
    }
    expect(JSON.parse(out.join(''))).toMatchObject({ gpus: [{ name: 'gpu0', owner: 'win' }] });
  });
});
