// `baton config check [FILE]`: validate baton.yaml and print every error as FILE:LINE:COL: message.
// `baton config show [FILE]`: the parsed config, defaults filled in, as JSON.
// On the real command, check also looks at this machine: accounts helper.users/helper.group name
// must exist (an error: the helper refuses to start), GPUs not on the bus and journals a recovery
// set aside are warnings.
import type { Command } from 'commander';
import { configSummary, DEFAULT_CONFIG_PATH, formatConfigError, type BatonConfig, type ConfigError, type ConfigParseResult } from '../../domain/config/index.js';
import { ConfigReadError, loadConfigFile, readConfigText } from '../../host/config/load.js';
import { absentGpuWarnings, accountErrors, setAsideJournals, THIS_MACHINE, type MachineChecks } from '../client/machine-checks.js';

export type ConfigIo = {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  load: (file: string) => ConfigParseResult;
  /** Check the config against this machine too (accounts, GPUs present, journals set aside). */
  machine?: MachineChecks;
};

const processIo: ConfigIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  load: loadConfigFile,
  machine: THIS_MACHINE,
};

function textOf(file: string): string | null {
  try {
    return readConfigText(file);
  } catch {
    return null;
  }
}

/** The machine's errors and warnings about a valid config. */
function againstMachine(file: string, config: BatonConfig, machine: MachineChecks | undefined, sysRoot: string | undefined): { errors: ConfigError[]; warnings: ConfigError[] } {
  if (!machine) return { errors: [], warnings: [] };
  const text = textOf(file);
  const warnings = absentGpuWarnings(config, file, text, sysRoot ?? machine.sysRoot);
  for (const journal of setAsideJournals(config)) {
    warnings.push({ file, line: 1, col: 1, path: '', message: `a recovery set aside the journal ${journal}: a switch it could not finish or undo (see baton status and baton doctor)` });
  }
  return { errors: accountErrors(config, file, text, machine.accountFiles), warnings };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function load(file: string, io: ConfigIo): ConfigParseResult | { ok: false; readError: string } {
  try {
    return io.load(file);
  } catch (err) {
    if (err instanceof ConfigReadError) return { ok: false, readError: err.message };
    throw err;
  }
}

/** Runs the check and returns the exit status: 0 valid, 1 not (or unreadable). */
export function runConfigCheck(file: string, options: { json?: boolean; sysfs?: string }, io: ConfigIo = processIo): number {
  const result = load(file, io);
  const machine = result.ok ? againstMachine(file, result.config, io.machine, options.sysfs) : { errors: [], warnings: [] };
  const ok = result.ok && machine.errors.length === 0;
  if (options.json) {
    const errors = result.ok
      ? machine.errors
      : 'readError' in result
        ? [{ file, line: null, col: null, path: '', message: result.readError }]
        : result.errors;
    const summary = result.ok ? configSummary(result.config) : null;
    io.stdout(JSON.stringify({ ok, file, errors, ...(io.machine ? { warnings: machine.warnings } : {}), summary }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  if (result.ok) {
    for (const w of machine.warnings) io.stderr(`${w.file}:${w.line}:${w.col}: warning: ${w.path ? `${w.path}: ` : ''}${w.message}\n`);
    if (machine.errors.length) {
      io.stderr(machine.errors.map((e) => formatConfigError(e) + '\n').join(''));
      io.stderr(`baton: ${file}: ${plural(machine.errors.length, 'error')} on this machine\n`);
      return 1;
    }
    const s = configSummary(result.config);
    io.stdout(`${file}: OK: ${plural(s.gpus, 'GPU')}, ${plural(s.vms, 'VM')}, ${plural(s.monitors, 'monitor')}, ${plural(s.shortcuts, 'shortcut')}\n`);
    return 0;
  }
  if ('readError' in result) {
    io.stderr(`baton: ${result.readError}\n`);
    return 1;
  }
  io.stderr(result.errors.map((e) => formatConfigError(e) + '\n').join(''));
  io.stderr(`baton: ${file}: ${plural(result.errors.length, 'error')}\n`);
  return 1;
}

/** Prints the config with defaults applied, or the same errors as check. */
export function runConfigShow(file: string, io: ConfigIo = processIo): number {
  const result = load(file, io);
  if (result.ok) {
    io.stdout(JSON.stringify(result.config, null, 2) + '\n');
    return 0;
  }
  if ('readError' in result) io.stderr(`baton: ${result.readError}\n`);
  else io.stderr(result.errors.map((e) => formatConfigError(e) + '\n').join(''));
  return 1;
}

/** FILE argument, else --config (on `config` or globally), else the default path. */
function chooseFile(file: string | undefined, command: Command): string {
  const opts = command.optsWithGlobals<{ config?: string }>();
  return file ?? opts.config ?? DEFAULT_CONFIG_PATH;
}

export function registerConfig(program: Command, io: ConfigIo = processIo): void {
  const config = program
    .command('config')
    .description('Check or show the configuration file')
    .option('-c, --config <file>', `configuration file (default ${DEFAULT_CONFIG_PATH})`);

  config
    .command('check')
    .description('Validate the configuration; print every error as FILE:LINE:COL: message')
    .argument('[file]', 'file to check (overrides --config)')
    .option('--json', 'print { ok, errors, warnings, summary } as JSON')
    .option('--sysfs <dir>', 'look for the configured GPUs in this folder as /sys', '/sys')
    .action((file: string | undefined, options: { json?: boolean; sysfs?: string }, command: Command) => {
      process.exitCode = runConfigCheck(chooseFile(file, command), options, io);
    });

  config
    .command('show')
    .description('Print the configuration with defaults filled in, as JSON')
    .argument('[file]', 'file to show (overrides --config)')
    .action((file: string | undefined, _options: unknown, command: Command) => {
      process.exitCode = runConfigShow(chooseFile(file, command), io);
    });
}
