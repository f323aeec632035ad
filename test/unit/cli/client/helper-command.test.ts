// `baton helper`: trusts only a root-owned config no one else can write, picks the real or the
// simulated service, and serves it on the socket.
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHelper, type ServiceFactories } from '../../../../app/cli/commands/helper.js';
import type { BatonConfig } from '../../../../app/domain/config/index.js';
import type { Daemon } from '../../../../app/helper/daemon/daemon.js';
import { connectHelper } from '../../../../app/protocol/helper-client.js';
import { FakeService } from '../../helper/daemon/fake-service.js';
import { cleanup, tempSocketDir, tempStateDir, testConfig } from '../../helper/daemon/harness.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('helper-command.test: SKIPPED every test of baton helper: they must run as root (root-owned configs, the real-mode root check)\n');
const running: Daemon[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.close()));
  await cleanup();
});

/** A config whose state and socket live in a fresh folder; the group is root's, which every system has. */
function configFile(mode = 0o644, helperExtra = 'group: root'): string {
  const dir = tempStateDir();
  const file = join(dir, 'baton.yaml');
  const helper = `helper: { socket: ${join(dir, 'helper.sock')}, journal: ${join(dir, 'state', 'journal.json')}, history: { file: ${join(dir, 'state', 'history.jsonl')} }, ${helperExtra} }`;
  writeFileSync(file, `${helper}\ngpus:\n  - name: gpu0\n    match: { address: "01:00.0" }\n`);
  chmodSync(file, mode);
  return file;
}

function factories() {
  const made: { kind: string; config: BatonConfig }[] = [];
  const f: ServiceFactories = {
    real: async (config) => (made.push({ kind: 'real', config }), new FakeService()),
    simulated: async (config) => (made.push({ kind: 'simulated', config }), new FakeService()),
  };
  return { f, made };
}

describe.skipIf(!isRoot)('baton helper', () => {
  it('serves the real service on the config socket when the config is root-owned and private', async () => {
    const { f, made } = factories();
    const daemon = await startHelper({ config: configFile() }, f, () => {});
    running.push(daemon);
    expect(made.map((m) => m.kind)).toEqual(['real']);
    expect(made[0]?.config.gpus[0]?.name).toBe('gpu0');
    const client = await connectHelper(daemon.socketPath);
    expect((await client.call('hello')).protocol).toBe(2);
    expect((await client.call('hello')).server).toMatch(/^\d+\.\d+\.\d+/);
    client.close();
  });

  it('refuses a config others can write, and says how to fix it', async () => {
    const file = configFile(0o666);
    const err = await startHelper({ config: file }, factories().f).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`refusing to start: the helper runs as root and must not trust ${file}:`);
    expect((err as { details: string[] }).details).toEqual([`config file ${file} is writable by others`, `fix: chown root:root ${file} && chmod 644 ${file} (and the same for its folder)`]);
  });

  it('refuses a config owned by another user', async () => {
    const file = configFile();
    chownSync(file, 65534, 65534);
    await expect(startHelper({ config: file }, factories().f)).rejects.toMatchObject({ details: expect.arrayContaining([`config file ${file} is owned by uid 65534, not root`]) });
  });

  it('--insecure-config works only with --simulate, and then serves the simulated service', async () => {
    const file = configFile(0o666);
    await expect(startHelper({ config: file, insecureConfig: true }, factories().f)).rejects.toThrow(/only allowed with --simulate/);
    const { f, made } = factories();
    running.push(await startHelper({ config: file, insecureConfig: true, simulate: true, socket: join(tempSocketDir(), 's.sock') }, f, () => {}));
    expect(made.map((m) => m.kind)).toEqual(['simulated']);
  });

  it('--simulate without --config uses the simulated workstation’s config', async () => {
    const { f, made } = factories();
    const socket = join(tempSocketDir(), 's.sock');
    running.push(await startHelper({ simulate: true, socket }, { ...f, simulatedConfig: () => testConfig() }, () => {}));
    expect(made[0]?.config.vms.map((v) => v.name)).toEqual(['win', 'broken']);
  });

  it('refuses to start when helper.group or helper.users name no account here, before any service is made', async () => {
    const { f, made } = factories();
    const file = configFile(0o644, 'group: nosuchbatongroup, users: [nosuchbatonuser, 4321]');
    const err = (await startHelper({ config: file }, f).catch((e: unknown) => e)) as { message: string; details: string[] };
    expect(err.message).toBe('refusing to start: the config names accounts this system does not have:');
    expect(err.details).toEqual(['helper.group: no group named "nosuchbatongroup" in /etc/group', 'helper.users: no user named "nosuchbatonuser" in /etc/passwd']);
    expect(made).toEqual([]);
  });

  it('refuses a config with errors, naming the file', async () => {
    const file = configFile();
    writeFileSync(file, 'gpus: 7\n');
    await expect(startHelper({ config: file }, factories().f)).rejects.toThrow(`refusing to start: ${file} has errors`);
  });
});
