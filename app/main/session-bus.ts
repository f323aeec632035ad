// The session bus through gdbus (libglib2.0-bin, present on every GNOME/GTK desktop): one
// NameHasOwner call, argv array, bounded in time. Plain Node, no Electron.
import { execFile } from 'node:child_process';
import type { SessionBusPort } from './ports.js';

export function gdbusSessionBus(opts: { gdbus?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): SessionBusPort {
  return {
    nameHasOwner(name) {
      const args = ['call', '--session', '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.NameHasOwner', name];
      return new Promise((resolve) => {
        execFile(opts.gdbus ?? 'gdbus', args, { timeout: opts.timeoutMs ?? 3000, env: opts.env ?? process.env }, (err, stdout) => {
          if (err) return resolve(null);
          const answer = stdout.trim();
          resolve(answer === '(true,)' ? true : answer === '(false,)' ? false : null);
        });
      });
    },
  };
}
