// The options with which every client command finds the helper.
import type { Command } from 'commander';

export function helperOptions(cmd: Command): Command {
  return cmd
    .option('--socket <path>', 'the helper socket (default: $BATON_SOCKET, else helper.socket of the config, else /run/baton/helper.sock)')
    .option('--config <file>', 'read helper.socket from this config (default /etc/baton/baton.yaml, when it exists)')
    .option('--timeout <seconds>', 'give up waiting for an answer after this long (default 30 s; a switch 15 min)');
}
