// A config or state that others could have changed (issue 13, item 4): the helper runs as root, so
// it must refuse to start on a config file or a ROM store (or any other state path) that another
// user owns or may write, or that a link redirects, before it reads any state or touches a device.
// Each attempt is `baton helper --config FILE` as root runs it (startHelper, the simulated workstation
// as the machine); the evidence of the state folder is the same before and after, and the service
// factory (the machine) was never even reached.
import { chmodSync, chownSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHelper } from '../../app/cli/commands/helper.js';
import { UserError } from '../../app/cli/output.js';
import { changed, record, short, takeEvidence } from './lib/evidence.js';
import { NOBODY, makeStateFolder, removeStateFolder, simulatedMachineFactories, startHardenedHelper } from './lib/hardened-helper.js';
import { RawClient } from './lib/raw-client.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) process.stdout.write('helper-start.security: SKIPPED: the helper\'s start checks are root\'s (it refuses to run as anyone else)\n');

let dir: string;
let configPath: string;

beforeAll(async () => {
  if (!isRoot) return;
  // A state folder with something in it: one helper run with two switches, then stopped.
  dir = makeStateFolder();
  const helper = await startHardenedHelper(dir);
  configPath = helper.configPath;
  const client = await RawClient.open(helper.socketPath);
  for (const [gpu, target] of [['gpu-a', 'win11'], ['gpu-b', 'park']] as const) {
    expect((await client.call('switch', { gpu, target, requestedBy: 'cli' })).result).toMatchObject({ outcome: 'succeeded' });
  }
  client.close();
  await helper.stop();
  // A ROM store with a ROM in it (the helper makes the folder when it first captures one).
  mkdirSync(vbios(), { mode: 0o755 });
  writeFileSync(join(vbios(), 'gpu-a.rom'), Buffer.from([0x55, 0xaa, 0x01, 0x00]), { mode: 0o644 });
}, 60_000);

afterAll(() => {
  if (dir) removeStateFolder(dir);
});

interface Tamper {
  attack: string;
  how: string;
  apply(): void;
  undo(): void;
  /** What the refusal must say (the message and its details, as the CLI prints them). */
  expected: RegExp;
}

const vbios = () => join(dir, 'vbios');
const journal = () => join(dir, 'journal');

const tampers = (): Tamper[] => [
  {
    attack: 'config world-writable', how: 'chmod 0666 baton.yaml',
    apply: () => chmodSync(configPath, 0o666), undo: () => chmodSync(configPath, 0o644),
    expected: /refusing to start: the helper runs as root and must not trust .*baton\.yaml:[\s\S]*writable by others/,
  },
  {
    attack: 'config owned by another user', how: `chown ${NOBODY.uid} baton.yaml`,
    apply: () => chownSync(configPath, NOBODY.uid, 0), undo: () => chownSync(configPath, 0, 0),
    expected: /refusing to start: the helper runs as root and must not trust .*baton\.yaml:[\s\S]*owned by uid 65534/,
  },
  {
    attack: 'config folder world-writable', how: 'chmod 0777 on the folder holding baton.yaml',
    apply: () => chmodSync(dir, 0o777), undo: () => chmodSync(dir, 0o755),
    expected: /refusing to start: the helper runs as root and must not trust .*baton\.yaml:[\s\S]*writable by others/,
  },
  {
    attack: 'ROM store world-writable', how: 'chmod 0777 vbios/ (helper.vbiosStore)',
    apply: () => chmodSync(vbios(), 0o777), undo: () => chmodSync(vbios(), 0o755),
    expected: /refusing to start: the helper runs as root and must not trust its state paths:[\s\S]*vbios[\s\S]*writable by others/,
  },
  {
    attack: 'ROM store owned by another user', how: `chown ${NOBODY.uid} vbios/`,
    apply: () => chownSync(vbios(), NOBODY.uid, NOBODY.gid), undo: () => chownSync(vbios(), 0, 0),
    expected: /refusing to start: the helper runs as root and must not trust its state paths:[\s\S]*vbios[\s\S]*owned by uid 65534/,
  },
  {
    attack: 'ROM store redirected by a link', how: 'vbios/ replaced by a symlink to another root-owned folder',
    apply: () => {
      renameSync(vbios(), `${vbios()}.real`);
      symlinkSync(`${vbios()}.real`, vbios());
    },
    undo: () => {
      rmSync(vbios());
      renameSync(`${vbios()}.real`, vbios());
    },
    expected: /refusing to start: the helper runs as root and must not trust its state paths:[\s\S]*vbios[\s\S]*link/,
  },
  {
    attack: 'history file owned by another user', how: `chown ${NOBODY.uid} history.jsonl`,
    apply: () => chownSync(join(dir, 'history.jsonl'), NOBODY.uid, NOBODY.gid), undo: () => chownSync(join(dir, 'history.jsonl'), 0, 0),
    expected: /refusing to start: the helper runs as root and must not trust its state paths:[\s\S]*history\.jsonl[\s\S]*owned by uid 65534/,
  },
  {
    attack: 'state folder redirected by a link', how: 'journal/ replaced by a symlink to a folder elsewhere',
    apply: () => {
      mkdirSync(journal(), { recursive: true, mode: 0o750 });
      renameSync(journal(), `${journal()}.real`);
      symlinkSync(`${journal()}.real`, journal());
    },
    undo: () => {
      rmSync(journal());
      renameSync(`${journal()}.real`, journal());
    },
    expected: /refusing to start: the helper runs as root and must not trust its state paths:[\s\S]*journal[\s\S]*link/,
  },
];

describe.skipIf(!isRoot)('the helper refuses to start on state others could change (as root)', () => {
  it('starts on the untouched folder (the control: the refusals below are the tampering, not the folder)', async () => {
    const factories = simulatedMachineFactories();
    const daemon = await startHelper({ config: configPath }, factories, () => {});
    expect(factories.calls()).toBe(1);
    await daemon.close();
  });

  for (const t of isRoot ? tampers() : []) {
    it(`${t.attack}: refused, the machine never reached, nothing touched`, async () => {
      t.apply();
      try {
        const before = takeEvidence(dir, null);
        const factories = simulatedMachineFactories();
        const err = await startHelper({ config: configPath }, factories, () => {}).then(
          async (d) => {
            await d.close();
            return null;
          },
          (e: unknown) => e,
        );
        const after = takeEvidence(dir, null);
        expect(err).toBeInstanceOf(UserError);
        const printed = [(err as UserError).message, ...(err as UserError).details].join('\n');
        record({
          attack: t.attack, how: `${t.how}, then \`baton helper --config baton.yaml\` as root (startHelper)`,
          refused: printed.replace(/\/run\/baton-security-\w+/g, 'DIR').replace(/\n/g, ' · ').slice(0, 300),
          logged: 'the start error: printed on stderr by the CLI (exit 1), the journal under systemd',
          before: short(before), after: short(after), identical: changed(before, after).length === 0,
          note: `service factory calls: ${factories.calls()}`,
        });
        expect(printed).toMatch(t.expected);
        expect(factories.calls()).toBe(0);
        expect(changed(before, after)).toEqual([]);
      } finally {
        t.undo();
      }
    });
  }
});
