// The helper as `baton helper --simulate` starts it (startHelper: config, service factory, the real
// daemon on a real Unix socket), in a private temp folder, with the simulated workstation at speed 0
// so a case costs Baton's own work only. The simulator handle stays reachable for consistency checks.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BatonConfig } from '../../../app/domain/config/index.js';
import { startHelper } from '../../../app/cli/commands/helper.js';
import type { Daemon } from '../../../app/helper/daemon/daemon.js';
import { helperStores } from '../../../app/helper/compose.js';
import { HelperService } from '../../../app/helper/engine/service.js';
import { createSimulatedWorkstation, simulatedConfig, type SimulatedWorkstation } from '../../../app/helper/simulate/index.js';

export interface HelperUnderTest {
  daemon: Daemon;
  sim: SimulatedWorkstation;
  service: HelperService;
  config: BatonConfig;
  socketPath: string;
  dir: string;
  logs: string[];
  stop(): Promise<void>;
}

/** tmpfs when there is one: the fuzz is about requests, and fsyncs on a slow disk would dominate each case. */
function stateRoot(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export async function startSimulatedHelper(options: { historyMaxEntries?: number } = {}): Promise<HelperUnderTest> {
  const dir = mkdtempSync(join(stateRoot(), 'baton-fuzz-'));
  const config = simulatedConfig({ stateDir: dir });
  if (options.historyMaxEntries !== undefined) config.helper.history.maxEntries = options.historyMaxEntries;
  const logs: string[] = [];
  let sim: SimulatedWorkstation | undefined;
  let service: HelperService | undefined;
  const daemon = await startHelper(
    { simulate: true },
    {
      real: () => Promise.reject(new Error('the fuzz helper never serves real hardware')),
      // What compose.ts simulatedService builds, at speed 0, keeping the simulator in reach.
      simulated: async (c) => {
        sim = createSimulatedWorkstation({ speed: 0, stateDir: dirname(c.helper.journal) });
        service = new HelperService({
          config: c, host: sim.host, backendFor: sim.backendFor,
          ...helperStores(c),
        });
        await service.recover();
        await service.reconcile();
        return service;
      },
      simulatedConfig: () => config,
      // The desk, as `baton helper` serves it (app/cli/main.ts).
      desk: async (svc, c, about) => (await import('../../../app/helper/desk/index.js')).createDesk(svc, c, about),
    },
    (line) => {
      logs.push(line);
      if (logs.length > 1000) logs.splice(0, 500);
    },
  );
  return {
    daemon, sim: sim!, service: service!, config, socketPath: config.helper.socket, dir, logs,
    async stop() {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
