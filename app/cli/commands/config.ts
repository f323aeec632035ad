// `baton config check [FILE]`: validate baton.yaml and print every error as FILE:LINE:COL: message.
// `baton config show [FILE]`: the parsed config, defaults filled in, as JSON.
import type { Command } from 'commander';
import { configSummary, DEFAULT_CONFIG_PATH, formatConfigError, type ConfigParseResult } from '../../domain/config/index.js';
import { ConfigReadError, loadConfigFile } from '../../host/config/load.js';

export type ConfigIo = {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  load: (file: string) => ConfigParseResult;
};

const processIo: ConfigIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  load: loadConfigFile,
};

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
export function runConfigCheck(file: string, options: { json?: boolean }, io: ConfigIo = processIo): number {
  const result = load(file, io);
  if (options.json) {
    const errors = result.ok
      ? []
      : 'readError' in result
        ? [{ file, line: null, col: null, path: '', message: result.readError }]
        : result.errors;
    const summary = result.ok ? configSummary(result.config) : null;
    io.stdout(JSON.stringify({ ok: result.ok, file, errors, summary }, null, 2) + '\n');
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
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
    .option('--json', 'print { ok, errors, summary } as JSON')
    .action((file: string | undefined, options: { json?: boolean }, command: Command) => {
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
