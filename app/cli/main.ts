// The `baton` command line: each command lives in commands/<name>.ts and registers itself here.
// Only the command being run is loaded (its imports are most of the start-up time); `baton`,
// `baton --help` and unknown commands load them all, to list them.
import { Command, CommanderError } from 'commander';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { errorJson, UserError } from './output.js';
import { batonVersion } from './version.js';

type Register = (program: Command) => void;

const helperCommand: () => Promise<Register> = async () => {
  const { registerHelper } = await import('./commands/helper.js');
  // The engine, the backends and the simulator load only when the helper starts.
  const compose = () => import('../helper/compose.js');
  return (program) =>
    registerHelper(program, {
      real: async (c) => (await compose()).realService(c),
      simulated: async (c) => (await compose()).simulatedService(c),
      simulatedConfig: async () => {
        const [{ simulatedConfig }, { privateSimulationFolder }] = await Promise.all([import('../helper/simulate/config.js'), import('../helper/daemon/private-folder.js')]);
        return simulatedConfig({ stateDir: privateSimulationFolder() });
      },
      desk: async (service, config, about) => (await import('../helper/desk/index.js')).createDesk(service, config, about),
    });
};

/** Top-level command name → its module's register function, in the order help lists them. */
const COMMANDS: [string[], () => Promise<Register>][] = [
  [['inventory'], async () => (await import('./commands/inventory.js')).registerInventory],
  [['config'], async () => (await import('./commands/config.js')).registerConfig],
  [['vbios'], async () => (await import('./commands/vbios.js')).registerVbios],
  [['gpu'], async () => (await import('./commands/gpu.js')).registerGpu],
  [['status', 'reconcile'], async () => (await import('./commands/status.js')).registerStatus],
  [['switch'], async () => (await import('./commands/switch.js')).registerSwitch],
  [['history'], async () => (await import('./commands/history.js')).registerHistory],
  [['doctor'], async () => (await import('./commands/doctor.js')).registerDoctor],
  [['helper'], helperCommand],
  [['ui'], async () => (await import('./commands/ui.js')).registerUi],
];

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const json = argv.includes('--json');
  const program = new Command('baton')
    .description('Move a GPU, and the monitors on it, between virtual machines and the host.')
    .version(batonVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    // With --json the error goes out as JSON (runCli), not as commander's text.
    .configureOutput({ outputError: (text, write) => (json ? undefined : write(text)) })
    .exitOverride();
  const wanted = COMMANDS.find(([names]) => names.includes(argv[0] ?? ''));
  const versionOnly = argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
  for (const [, load] of wanted ? [wanted] : versionOnly ? [] : COMMANDS) (await load())(program);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const fail = (message: string, details: string[], code: number) => {
    if (json) process.stdout.write(errorJson(message, details, code));
    else {
      process.stderr.write(`baton: ${message}\n`);
      for (const line of details) process.stderr.write(`  ${line}\n`);
    }
    return code;
  };
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok;
      // Commander has printed its one line (unless --json): a usage error, not a failure.
      if (json) process.stdout.write(errorJson(err.message.replace(/^error: /, ''), [], EXIT.usage));
      return EXIT.usage;
    }
    if (err instanceof UserError) return fail(err.message, err.details, err.exitCode);
    const e = err as Error;
    if (process.env.BATON_DEBUG) process.stderr.write(`${e.stack}\n`);
    return fail(`internal error: ${e.message}`, [], EXIT.error);
  }
}
