// The helper as root runs it (startHelper without --simulate): its config read from a root-owned
// file and judged (owner, mode, folders up to /), its state paths checked, the config's allowlist
// of users and group, the real daemon on a real Unix socket. Only the devices are simulated: the
// service factory puts the simulated workstation (speed 0) behind the engine, so an attack that got
// through would move simulated GPUs, which the evidence (evidence.ts) would show.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startHelper, type ServiceFactories } from '../../../app/cli/commands/helper.js';
import type { Daemon } from '../../../app/helper/daemon/daemon.js';
import { helperStores } from '../../../app/helper/compose.js';
import { HelperService } from '../../../app/helper/engine/service.js';
import { createSimulatedWorkstation, simulatedConfigYaml, type SimulatedWorkstation } from '../../../app/helper/simulate/index.js';

/** The group the config names (exists in every Debian /etc/group, with no members). */
export const HELPER_GROUP = { name: 'staff', gid: 50 };
/** A uid helper.users lets in; it has no /etc/passwd entry (the kernel does not need one). */
export const ALLOWED_UID = 4000;
/** Refused: in neither helper.users nor the group. */
export const NOBODY = { uid: 65534, gid: 65534 };

/** A folder for the helper's state: under /run (root-owned 0755 up to /), never under /tmp (1777). */
export function makeStateFolder(): string {
  const dir = mkdtempSync('/run/baton-security-');
  chmodSync(dir, 0o755);
  return dir;
}

/** The simulated workstation's config with its state in `dir` and the access rule above. */
export function hardenedConfigYaml(dir: string): string {
  return simulatedConfigYaml({ stateDir: dir }).replace('\nhelper:\n', `\nhelper:\n  group: ${HELPER_GROUP.name}\n  users: [${ALLOWED_UID}]\n`);
}

/** Writes <dir>/baton.yaml root:root 0644 (what the package installs as /etc/baton/baton.yaml). */
export function writeConfig(dir: string): string {
  const path = join(dir, 'baton.yaml');
  writeFileSync(path, hardenedConfigYaml(dir), { mode: 0o644 });
  chmodSync(path, 0o644);
  return path;
}

export interface HardenedHelper {
  daemon: Daemon;
  sim: SimulatedWorkstation;
  dir: string;
  configPath: string;
  socketPath: string;
  /** Every line the helper logged (what goes to the journal under systemd). */
  logs: string[];
  stop(): Promise<void>;
}

/** The factories `baton helper` gets, with the simulated workstation as the "real" machine. */
export function simulatedMachineFactories(onMachine: (sim: SimulatedWorkstation) => void = () => {}): ServiceFactories & { calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    real: async (config) => {
      calls++;
      const sim = createSimulatedWorkstation({ speed: 0, stateDir: dirname(config.helper.journal) });
      onMachine(sim);
      const service = new HelperService({ config, host: sim.host, backendFor: sim.backendFor, ...helperStores(config) });
      await service.recover();
      await service.reconcile();
      return service;
    },
    simulated: () => Promise.reject(new Error('the security suite runs the helper as root, never --simulate')),
    desk: async (svc, c, about) => (await import('../../../app/helper/desk/index.js')).createDesk(svc, c, about),
  };
}

export async function startHardenedHelper(dir = makeStateFolder()): Promise<HardenedHelper> {
  const configPath = writeConfig(dir);
  const logs: string[] = [];
  let sim: SimulatedWorkstation | undefined;
  const daemon = await startHelper({ config: configPath }, simulatedMachineFactories((s) => (sim = s)), (line) => logs.push(line));
  return {
    daemon, sim: sim!, dir, configPath, socketPath: daemon.socketPath, logs,
    async stop() {
      await daemon.close();
    },
  };
}

export function removeStateFolder(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
