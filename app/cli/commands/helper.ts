// `baton helper`: runs the root helper daemon (what baton-helper.service starts). The service it
// serves comes from a factory: the real engine, or the simulated workstation with --simulate.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, formatConfigError, type BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { missingAccounts } from '../../helper/daemon/accounts.js';
import { configAuthorizer, type Authorizer } from '../../helper/daemon/authorize.js';
import { startDaemon, type Daemon } from '../../helper/daemon/daemon.js';
import { ensureFolder, FolderError } from '../../helper/daemon/folders.js';
import { lockStateFolder, StateFolderLocked, stateFolderOf, type InstanceLock } from '../../helper/daemon/instance-lock.js';
import type { DeskSource } from '../../helper/desk/source.js';
import { DaemonStartError, takeSystemdListenFd } from '../../helper/daemon/listen.js';
import { ConfigReadError, loadTrustedConfigFile } from '../../host/config/load.js';
import { checkStatePaths, describeProblem, statePathsOf } from '../../host/trust/paths.js';
import { UserError } from '../output.js';
import { batonVersion } from '../version.js';

export type ServiceFactory = (config: BatonConfig) => Promise<BatonService>;

export interface ServiceFactories {
  real: ServiceFactory;
  simulated: ServiceFactory;
  /** The config --simulate uses when no --config is given (the simulated workstation's own). */
  simulatedConfig?: () => BatonConfig | Promise<BatonConfig>;
  /** The desk served beside the service (app/helper/desk); none when left out. */
  desk?: (service: BatonService, config: BatonConfig, about: { configFile: string | null; version: string; simulated: boolean }) => Promise<DeskSource | undefined>;
}

export interface HelperOptions {
  config?: string;
  socket?: string;
  simulate?: boolean;
  insecureConfig?: boolean;
}

/**
 * The config the helper may trust: root-owned and not writable by others, unless a simulation says
 * otherwise. Checked and read from one open file (no window to swap the file between the two).
 */
export function loadTrustedConfig(path: string, insecure: boolean): BatonConfig {
  let loaded;
  try {
    loaded = loadTrustedConfigFile(path);
  } catch (err) {
    if (err instanceof ConfigReadError) throw new UserError(`refusing to start: ${err.message}`);
    throw err;
  }
  if (loaded.problems.length && !insecure) {
    throw new UserError(`refusing to start: the helper runs as root and must not trust ${path}:`, [
      ...loaded.problems,
      `fix: chown root:root ${path} && chmod 644 ${path} (and the same for its folder)`,
    ]);
  }
  if (loaded.result.ok) return loaded.result.config;
  throw new UserError(`refusing to start: ${path} has errors (baton config check ${path}):`, loaded.result.errors.map(formatConfigError));
}

/**
 * The state paths (journal, registry, history, VBIOS store, socket folder) must be root-owned and not
 * writable by others up to /, with no links and no ACL grants, before the helper makes or opens any
 * of them. Not run under --simulate, whose state is the user's own private folder.
 */
export function statePathProblems(config: BatonConfig): string[] {
  return checkStatePaths(statePathsOf(config.helper)).map(describeProblem);
}

/** A simulation is run by a normal user (npm start): that user may talk to it too. */
function simulationAuthorizer(rule: Authorizer, ownUid: number): Authorizer {
  return (peer) => {
    const verdict = rule(peer);
    return verdict.allowed || peer.uid !== ownUid ? verdict : { allowed: true, who: `uid ${peer.uid} (the simulation's own user)`, user: null };
  };
}

/** The state folder exists (made private when missing) and this process alone holds its lock. */
function takeStateFolder(config: BatonConfig, simulate: boolean): InstanceLock {
  const folder = stateFolderOf(config);
  const untrusted = simulate ? [] : statePathProblems(config);
  if (untrusted.length) throw new UserError('refusing to start: the helper runs as root and must not trust its state paths:', untrusted);
  try {
    ensureFolder(folder, simulate ? 0o700 : 0o750, 'the helper state');
  } catch (err) {
    if (err instanceof FolderError) throw new UserError(`refusing to start: ${err.message}`);
    throw err;
  }
  try {
    return lockStateFolder(folder);
  } catch (err) {
    if (err instanceof StateFolderLocked) throw new UserError(`refusing to start: ${err.message}; nothing was read or changed`);
    throw err;
  }
}

export async function startHelper(opts: HelperOptions, factories: ServiceFactories, log?: (line: string) => void): Promise<Daemon> {
  if (opts.insecureConfig && !opts.simulate) throw new UserError('--insecure-config is only allowed with --simulate: a real helper must not trust a file others can change');
  if (!opts.simulate && process.getuid?.() !== 0) throw new UserError('the helper must run as root (or try it with --simulate)');
  const say = log ?? ((line: string) => process.stderr.write(`baton-helper: ${line}
`));
  const builtIn = opts.simulate === true && opts.config === undefined && factories.simulatedConfig !== undefined;
  const config =
    builtIn && factories.simulatedConfig
      ? await factories.simulatedConfig()
      : loadTrustedConfig(opts.config ?? DEFAULT_CONFIG_PATH, opts.insecureConfig === true);
  const accounts = missingAccounts(config.helper);
  if (accounts.length && !opts.simulate) throw new UserError('refusing to start: the config names accounts this system does not have:', accounts);
  for (const problem of accounts) say(`${problem} (the simulation goes on: this user may connect)`);
  // The lock comes before recovery, reconciliation or any device access: a second helper stops here.
  const lock = takeStateFolder(config, opts.simulate === true);
  try {
    const service = await (opts.simulate ? factories.simulated : factories.real)(config);
    const desk = await factories.desk?.(service, config, { configFile: builtIn ? null : (opts.config ?? DEFAULT_CONFIG_PATH), version: batonVersion(), simulated: opts.simulate === true });
    const ruleOfConfig = configAuthorizer(config.helper);
    const ownUid = process.getuid?.() ?? 0;
    const daemon = await startDaemon({
      service,
      config,
      socketPath: opts.socket ?? config.helper.socket,
      listenFd: takeSystemdListenFd() ?? undefined,
      serverVersion: batonVersion(),
      ...(opts.simulate ? { authorize: (peer) => simulationAuthorizer(ruleOfConfig, ownUid)(peer) } : {}),
      ...(desk ? { desk } : {}),
      ...(log ? { log } : {}),
    });
    return {
      ...daemon,
      close: async () => {
        await daemon.close();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    if (err instanceof DaemonStartError) throw new UserError(`refusing to start: ${err.message}`);
    throw err;
  }
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => resolve(signal);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

export function registerHelper(program: Command, factories: ServiceFactories): void {
  program
    .command('helper')
    .description('run the root helper daemon that performs switches (started by baton-helper.service)')
    .option('--config <file>', 'the config; must be owned by root and not writable by others', DEFAULT_CONFIG_PATH)
    .option('--socket <path>', 'listen here instead of helper.socket from the config')
    .option('--simulate', 'serve a simulated workstation instead of the real hardware')
    .option('--insecure-config', 'with --simulate only: accept a config file not owned by root')
    .action(async (opts: HelperOptions, cmd: Command) => {
      // --config has a default; with --simulate only an explicit one replaces the simulated config.
      const explicitConfig = cmd.getOptionValueSource('config') === 'cli' ? opts.config : undefined;
      const daemon = await startHelper({ ...opts, config: opts.simulate ? explicitConfig : opts.config }, factories);
      await untilSignal();
      await daemon.close();
      // The VM backends hold connections to the hypervisors (QMP monitors, virsh event streams) that
      // keep the event loop alive: without an exit the helper never ends on SIGTERM while a VM runs.
      // A switch cut short here is in the journal, and the next start recovers it.
      process.exit(0);
    });
}
