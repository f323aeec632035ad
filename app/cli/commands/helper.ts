// `baton helper`: runs the root helper daemon (what baton-helper.service starts). The service it
// serves comes from a factory: the real engine, or the simulated workstation with --simulate.
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, formatConfigError, type BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { startDaemon, type Daemon } from '../../helper/daemon/daemon.js';
import type { DeskSource } from '../../helper/desk/source.js';
import { DaemonStartError, takeSystemdListenFd } from '../../helper/daemon/listen.js';
import { checkConfigFileOwnership, ConfigReadError, loadConfigFile } from '../../host/config/load.js';
import { UserError } from '../output.js';

export type ServiceFactory = (config: BatonConfig) => Promise<BatonService>;

export interface ServiceFactories {
  real: ServiceFactory;
  simulated: ServiceFactory;
  /** The config --simulate uses when no --config is given (the simulated workstation's own). */
  simulatedConfig?: () => BatonConfig;
  /** The desk served beside the service (app/helper/desk); none when left out. */
  desk?: (service: BatonService, config: BatonConfig, about: { configFile: string | null; version: string; simulated: boolean }) => Promise<DeskSource | undefined>;
}

export interface HelperOptions {
  config?: string;
  socket?: string;
  simulate?: boolean;
  insecureConfig?: boolean;
}

function serverVersion(): string {
  // The package.json above this file, in the source tree and in dist/ alike.
  for (let up = 3; up <= 5; up++) {
    const file = new URL(`${'../'.repeat(up)}package.json`, import.meta.url);
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'baton' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

/** The config the helper may trust: root-owned and not writable by others, unless a simulation says otherwise. */
export function loadTrustedConfig(path: string, insecure: boolean): BatonConfig {
  const problems = checkConfigFileOwnership(path);
  if (problems.length && !insecure) {
    throw new UserError(`refusing to start: the helper runs as root and must not trust ${path}:`, [
      ...problems,
      `fix: chown root:root ${path} && chmod 644 ${path} (and the same for its folder)`,
    ]);
  }
  try {
    const result = loadConfigFile(path);
    if (result.ok) return result.config;
    throw new UserError(`refusing to start: ${path} has errors (baton config check ${path}):`, result.errors.map(formatConfigError));
  } catch (err) {
    if (err instanceof ConfigReadError) throw new UserError(`refusing to start: ${err.message}`);
    throw err;
  }
}

export async function startHelper(opts: HelperOptions, factories: ServiceFactories, log?: (line: string) => void): Promise<Daemon> {
  if (opts.insecureConfig && !opts.simulate) throw new UserError('--insecure-config is only allowed with --simulate: a real helper must not trust a file others can change');
  if (!opts.simulate && process.getuid?.() !== 0) throw new UserError('the helper must run as root (or try it with --simulate)');
  const builtIn = opts.simulate === true && opts.config === undefined && factories.simulatedConfig !== undefined;
  const config = builtIn ? factories.simulatedConfig!() : loadTrustedConfig(opts.config ?? DEFAULT_CONFIG_PATH, opts.insecureConfig === true);
  const service = await (opts.simulate ? factories.simulated : factories.real)(config);
  const desk = await factories.desk?.(service, config, { configFile: builtIn ? null : (opts.config ?? DEFAULT_CONFIG_PATH), version: serverVersion(), simulated: opts.simulate === true });
  try {
    return await startDaemon({
      service,
      config,
      socketPath: opts.socket ?? config.helper.socket,
      listenFd: takeSystemdListenFd() ?? undefined,
      serverVersion: serverVersion(),
      ...(desk ? { desk } : {}),
      ...(log ? { log } : {}),
    });
  } catch (err) {
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
