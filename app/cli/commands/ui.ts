// `baton ui`: serves the desk to a browser, as the user, bridging to the helper socket. The first
// line it prints is the URL to open (the token in its fragment); everything else goes to stderr.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { openDesk, type LaunchPage, type Opener } from '../../ui/launch-page.js';
import { DEFAULT_LISTEN, parseListenAddress } from '../../ui/listen-address.js';
import { defaultDistDir } from '../../ui/package-root.js';
import { UserError } from '../output.js';
import { DEFAULT_SOCKET_PATH } from '../client/session.js';

export interface UiCommandOptions {
  socket: string;
  listen?: string;
  open?: boolean;
  dist?: string;
}

/** Opens a path in the desktop's browser with xdg-open; argv, never a shell line. */
export const xdgOpen: Opener = (argv) => {
  const child = spawn('xdg-open', [...argv], { stdio: 'ignore', detached: true });
  child.on('error', (err: NodeJS.ErrnoException) => {
    process.stderr.write(`baton ui: cannot open a browser (xdg-open: ${err.code === 'ENOENT' ? 'not installed' : err.message}); open the URL above yourself\n`);
  });
  child.unref();
};

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}

export async function runUi(opts: UiCommandOptions, opener: Opener = xdgOpen): Promise<void> {
  let listen = DEFAULT_LISTEN;
  try {
    if (opts.listen !== undefined) listen = parseListenAddress(opts.listen);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  // The server and ws load only for this command.
  const { startUi } = await import('../../ui/server.js');
  const ui = await startUi({
    socketPath: opts.socket,
    listen,
    distDir: opts.dist ?? defaultDistDir(),
    log: (line) => process.stderr.write(`baton ui: ${line}\n`),
  }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`cannot listen on ${listen.host}:${listen.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : err.message}`);
  });
  process.stdout.write(`${ui.url}\n`);
  process.stderr.write(`baton ui: serving the desk on ${ui.origin} for the helper at ${opts.socket}; Ctrl-C stops it\n`);
  // The opener gets a page that leads to the URL, never the URL: argv is readable by every user.
  let page: LaunchPage | null = null;
  if (opts.open) {
    try {
      page = openDesk(ui.url, opener);
    } catch (err) {
      process.stderr.write(`baton ui: cannot open a browser (${(err as Error).message}); open the URL above yourself\n`);
    }
  }
  try {
    await untilSignal();
  } finally {
    page?.remove();
    await ui.close();
  }
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the desk to a browser (runs as you; talks to the helper socket)')
    .option('--socket <path>', 'the helper socket', DEFAULT_SOCKET_PATH)
    .option('--listen <addr:port>', 'address and port to serve on (default 127.0.0.1 and a free port)')
    .option('--open', 'open the desk in the default browser (xdg-open)')
    .option('--dist <dir>', 'the built renderer to serve (default: renderer/dist of this package)')
    .action(async (opts: UiCommandOptions) => {
      await runUi(opts);
    });
}
