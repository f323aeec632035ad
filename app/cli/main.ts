// The `baton` command line: each command lives in commands/<name>.ts and registers itself here.
import { Command, CommanderError } from 'commander';
import { UserError } from './output.js';
import { registerInventory } from './commands/inventory.js';
import { registerConfig } from './commands/config.js';
import { registerVbios } from './commands/vbios.js';
import { registerGpu } from './commands/gpu.js';
import { registerStatus } from './commands/status.js';
import { registerSwitch } from './commands/switch.js';
import { registerHistory } from './commands/history.js';
import { registerDoctor } from './commands/doctor.js';
import { registerHelper } from './commands/helper.js';
import { registerUi } from './commands/ui.js';
import { simulatedConfigFor } from '../helper/simulate/config.js';

export function buildProgram(): Command {
  const program = new Command('baton')
    .description('Move a GPU, and the monitors on it, between virtual machines and the host.')
    .showHelpAfterError()
    .exitOverride();
  registerInventory(program);
  registerConfig(program);
  registerVbios(program);
  registerGpu(program);
  registerStatus(program);
  registerSwitch(program);
  registerHistory(program);
  registerDoctor(program);
  registerUi(program);
  // The engine, the backends and the simulator load only when the helper starts: every other
  // command starts faster without them.
  const compose = () => import('../helper/compose.js');
  registerHelper(program, {
    real: async (c) => (await compose()).realService(c),
    simulated: async (c) => (await compose()).simulatedService(c),
    simulatedConfig: () => simulatedConfigFor(),
    desk: async (service, config, about) => (await import('../helper/desk/index.js')).createDesk(service, config, about),
  });
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    if (err instanceof UserError) {
      process.stderr.write(`baton: ${err.message}\n`);
      for (const line of err.details) process.stderr.write(`  ${line}\n`);
      return 1;
    }
    const e = err as Error;
    process.stderr.write(`baton: internal error: ${e.message}\n`);
    if (process.env.BATON_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
