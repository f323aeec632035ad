// How `baton` behaves as a program, against a real daemon over its socket where a helper is
// involved: deadlines, a helper lost mid-switch, where the socket comes from, errors with --json,
// usage errors, --version, exit codes, and the root commands that must not go behind the helper.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runConfigCheck } from '../../../../app/cli/commands/config.js';
import { resolveSocket } from '../../../../app/cli/client/session.js';
import { runCli } from '../../../../app/cli/main.js';
import { lockStateFolder } from '../../../../app/helper/daemon/instance-lock.js';
import { loadConfigFile } from '../../../../app/host/config/load.js';
import { connectHelper, HelperTimeoutError } from '../../../../app/protocol/helper-client.js';
import { cleanup, startTestDaemon, tempSocketDir } from '../../helper/daemon/harness.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await cleanup();
});

/** runCli with stdout and stderr captured. */
async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const setEnv = (k: string, v: string | undefined) => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  for (const [k, v] of Object.entries(env)) setEnv(k, v);
  process.stdout.write = ((c: string) => ((out += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((err += c), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const code = await runCli(args);
    return { code, out, err };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = undefined;
    for (const [k, v] of Object.entries(saved)) setEnv(k, v);
  }
}

/** A "helper" that accepts connections and never answers. */
async function silentHelper(): Promise<string> {
  const path = join(tempSocketDir(), 'silent.sock');
  const server = createServer(() => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return path;
}

describe('deadlines', () => {
  it('a helper that accepts and never answers: the call fails at its deadline naming the helper and the socket', async () => {
    const path = await silentHelper();
    const client = await connectHelper(path, { callTimeoutsMs: { status: 200 } });
    const err = await client.call('status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperTimeoutError);
    expect((err as Error).message).toBe(`the helper at ${path} did not answer status within 200 ms; is it stuck? (journalctl -u baton-helper)`);
    client.close();
    const run = await cli(['status', '--socket', path, '--timeout', '0.2']);
    expect(run.code).toBe(1);
    expect(run.err).toBe(`baton: the helper at ${path} did not answer status within 200 ms; is it stuck? (journalctl -u baton-helper)\n`);
  });

  it('--timeout must be a number of seconds (a usage error)', async () => {
    const run = await cli(['status', '--socket', '/nonexistent.sock', '--timeout', 'soon']);
    expect(run.code).toBe(2);
    expect(run.err).toBe('baton: --timeout soon: expected seconds, more than 0 and at most 86400\n');
  });
});

describe('a helper lost mid-switch', () => {
  it('exits 3 and says the switch goes on in the helper, and how to follow it', async () => {
    const { socketPath, service, daemon } = await startTestDaemon();
    service.switchDelayMs = 60_000;
    // The helper dies once the switch has started (its socket goes with it).
    service.subscribe((e) => e.kind === 'step-started' && void daemon.close());
    const run = await cli(['switch', 'gpu0', 'win', '--socket', socketPath]);
    expect(run.code).toBe(3);
    expect(run.err).toBe(
      [
        `baton: the helper at ${socketPath} closed the connection before answering switch: the move of gpu0 to win goes on in the helper (or in its recovery when the helper starts again)`,
        '  follow it with: baton status   (who has gpu0 now)',
        '  and: baton history --gpu gpu0   (how the switch ended)',
        '',
      ].join('\n'),
    );
  });
});

describe('where the socket is', () => {
  it('--socket, then BATON_SOCKET, then helper.socket of the config, then the default', async () => {
    const dir = tempSocketDir();
    const config = join(dir, 'baton.yaml');
    writeFileSync(config, `helper: { socket: ${join(dir, 'from-config.sock')} }\n`);
    const quiet = { out: () => {}, err: () => {} };
    expect(await resolveSocket({ socket: '/a.sock', config }, { BATON_SOCKET: '/b.sock' }, quiet)).toEqual({ path: '/a.sock', from: '--socket' });
    expect(await resolveSocket({ config }, { BATON_SOCKET: '/b.sock' }, quiet)).toEqual({ path: '/b.sock', from: 'BATON_SOCKET' });
    expect(await resolveSocket({ config }, {}, quiet)).toEqual({ path: join(dir, 'from-config.sock'), from: `helper.socket in ${config}` });
    expect(await resolveSocket({}, {}, quiet)).toMatchObject({ path: '/run/baton/helper.sock' });
  });

  it('BATON_SOCKET reaches the helper, and a failure says where the path came from', async () => {
    const { socketPath } = await startTestDaemon();
    const ok = await cli(['status', '--json'], { BATON_SOCKET: socketPath });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ gpus: [{ name: 'gpu0' }] });
    const missing = join(tempSocketDir(), 'none.sock');
    const bad = await cli(['status'], { BATON_SOCKET: missing });
    expect(bad.err).toBe(`baton: cannot reach the helper at ${missing}: no such socket; is the helper running? (systemctl status baton-helper.socket) (socket from BATON_SOCKET)\n`);
  });
});

describe('errors, usage, version, exit codes', () => {
  it('--json errors go out as JSON on stdout', async () => {
    const missing = join(tempSocketDir(), 'none.sock');
    const run = await cli(['status', '--json', '--socket', missing]);
    expect(run.code).toBe(1);
    expect(run.err).toBe('');
    expect(JSON.parse(run.out)).toEqual({ ok: false, error: { message: expect.stringContaining(`cannot reach the helper at ${missing}`), details: [], exitCode: 1 } });
    const usage = await cli(['status', '--json', '--bogus']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.out)).toMatchObject({ ok: false, error: { message: "unknown option '--bogus'", exitCode: 2 } });
  });

  it('a usage error exits 2 with one line and a hint, not the whole help', async () => {
    const run = await cli(['status', '--bogus']);
    expect(run.code).toBe(2);
    expect(run.err).toBe("error: unknown option '--bogus'\n(add --help for usage)\n");
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).not.toContain('Options:');
    const address = await cli(['gpu', 'claim', 'not-an-address']);
    expect(address.code).toBe(2);
  });

  it('--version prints the package version; --help lists the exit codes', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('4  baton reconcile: the registry and the machine disagree');
    expect(help.out).toContain('switch');
  });

  it('reconcile exits 4 when the registry and the machine disagree, 0 when they agree', async () => {
    const { socketPath, service } = await startTestDaemon();
    expect((await cli(['reconcile', '--socket', socketPath])).code).toBe(0);
    service.findings = ['gpu0: the registry says host, but vfio-pci holds it'];
    const run = await cli(['reconcile', '--socket', socketPath]);
    expect(run.code).toBe(4);
    expect(run.out).toBe('The registry and the machine disagree:\n  gpu0: the registry says host, but vfio-pci holds it\n');
  });

  it('baton switch prints the undos that ran when it rolled back', async () => {
    const { socketPath } = await startTestDaemon();
    const run = await cli(['switch', 'gpu0', 'broken', '--socket', socketPath]);
    expect(run.code).toBe(1);
    expect(run.out).toContain('  rolled back, newest first:\n    give gpu0 back to host\n');
    const json = await cli(['switch', 'gpu0', 'broken', '--socket', socketPath, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ outcome: 'rolled-back', reached: false, rolledBack: ['give gpu0 back to host'] });
  });

  it('inventory --sysfs of a folder that is not there exits 1 naming it', async () => {
    const run = await cli(['inventory', '--sysfs', '/nonexistent']);
    expect(run.code).toBe(1);
    expect(run.err).toBe('baton: --sysfs /nonexistent: no such folder\n');
  });
});

describe('config check on this machine', () => {
  function files() {
    const dir = tempSocketDir();
    writeFileSync(join(dir, 'passwd'), 'root:x:0:0::/root:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n');
    writeFileSync(join(dir, 'group'), 'root:x:0:\nbaton:x:990:ann\n');
    mkdirSync(join(dir, 'sys', 'bus', 'pci', 'devices', '0000:01:00.0'), { recursive: true });
    return { dir, accountFiles: { passwd: join(dir, 'passwd'), group: join(dir, 'group') }, sysRoot: join(dir, 'sys') };
  }
  const capture = (machine: ReturnType<typeof files>) => {
    const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), load: loadConfigFile, machine };
    return io;
  };

  it('an unknown helper.group or helper.users name is an error at its line; an absent GPU and a set-aside journal are warnings', () => {
    const m = files();
    const file = join(m.dir, 'baton.yaml');
    const text = [
      `helper:`,
      `  group: batonx`,
      `  users: [ann, bob, 4321]`,
      `  journal: ${join(m.dir, 'state', 'journal.json')}`,
      `gpus:`,
      `  - name: here`,
      `    match: { address: "0000:01:00.0" }`,
      `  - name: egpu`,
      `    match: { address: "0000:07:00.0" }`,
      '',
    ].join('\n');
    writeFileSync(file, text);
    mkdirSync(join(m.dir, 'state', 'journal', 'aside'), { recursive: true });
    writeFileSync(join(m.dir, 'state', 'journal', 'aside', 'here.json'), '{}');
    const io = capture(m);
    expect(runConfigCheck(file, {}, io)).toBe(1);
    expect(io.err.split('\n')).toEqual([
      `${file}:9:12: warning: gpus[1]: egpu is not on this machine (no PCI device with address 0000:07:00.0); the helper reports it absent`,
      `${file}:1:1: warning: a recovery set aside the journal ${join(m.dir, 'state', 'journal', 'aside', 'here.json')}: a switch it could not finish or undo (see baton status and baton doctor)`,
      `${file}:2:10: helper.group: no group named "batonx" on this system (${m.accountFiles.group}); the helper refuses to start (create it: groupadd batonx)`,
      `${file}:3:16: helper.users[1]: no user named "bob" on this system (${m.accountFiles.passwd}); the helper refuses to start`,
      `baton: ${file}: 2 errors on this machine`,
      '',
    ]);
    const json = capture(m);
    expect(runConfigCheck(file, { json: true }, json)).toBe(1);
    const parsed = JSON.parse(json.out);
    expect(parsed.ok).toBe(false);
    expect(parsed.errors.map((e: { path: string }) => e.path)).toEqual(['helper.group', 'helper.users[1]']);
    expect(parsed.warnings).toHaveLength(2);
  });

  it('the same config with accounts that exist and every GPU present passes', () => {
    const m = files();
    const file = join(m.dir, 'baton.yaml');
    writeFileSync(file, `helper: { group: baton, users: [ann] }\ngpus:\n  - name: here\n    match: { address: "0000:01:00.0" }\n`);
    const io = capture(m);
    expect(runConfigCheck(file, {}, io)).toBe(0);
    expect(io.err).toBe('');
  });
});

describe('root GPU commands while the helper runs', () => {
  it('gpu claim, release and reset refuse a GPU the helper manages, naming the helper and baton switch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-gpu-guard-'));
    const sys = join(dir, 'sys');
    mkdirSync(sys);
    expect(spawnSync('tar', ['xzf', join(FIXTURES, 'sysfs/workstation.tar.gz'), '-C', sys]).status).toBe(0);
    const state = join(dir, 'state');
    mkdirSync(state);
    const config = join(dir, 'baton.yaml');
    writeFileSync(config, `helper: { journal: ${join(state, 'journal.json')} }\ngpus:\n  - name: rtx\n    match: { address: "0000:01:00.0" }\n`);
    // What a running helper holds: its state folder's lock.
    const helper = lockStateFolder(state);
    try {
      for (const command of ['claim', 'release', 'reset']) {
        const run = await cli(['gpu', command, '0000:01:00.0', '--sysfs', sys, '--config', config, '--state-dir', state]);
        expect(run.code).toBe(1);
        expect(run.err).toContain(`baton: 0000:01:00.0: the Baton helper (pid ${process.pid}, `);
        expect(run.err).toContain('is running and manages this GPU (rtx)');
        expect(run.err).toContain('use: baton switch rtx TARGET');
      }
    } finally {
      helper.release();
    }
  });
});
