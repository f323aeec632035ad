// Reads what a nested-VM lab job (test/lab/kvm/nested-lib.sh) leaves in the results share:
// commands (cmd/NAME.{out,err,meta}), driver snapshots (drivers/NAME.txt) and facts.txt.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NestedCommand {
  name: string;
  /** Exit status; 124 means the job's `timeout` killed it. */
  rc: number;
  /** Wall time measured in L1 around the command (node start-up included). */
  wallMs: number;
  out: string;
  err: string;
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

export class NestedResults {
  constructor(readonly dir: string) {}

  has(name: string): boolean {
    return existsSync(join(this.dir, 'cmd', `${name}.meta`));
  }

  cmd(name: string): NestedCommand {
    const base = join(this.dir, 'cmd', name);
    if (!existsSync(`${base}.meta`)) throw new Error(`the job did not run the command "${name}" (no ${base}.meta)`);
    const meta = Object.fromEntries(read(`${base}.meta`).trim().split('\n').map((l) => l.split(' ') as [string, string]));
    return { name, rc: Number(meta.rc), wallMs: Number(meta.ms), out: read(`${base}.out`), err: read(`${base}.err`) };
  }

  /** The command's stdout as JSON, with a readable error when it is not. */
  json<T>(name: string): T {
    const run = this.cmd(name);
    try {
      return JSON.parse(run.out) as T;
    } catch {
      throw new Error(`${name}: stdout is not JSON (rc ${run.rc})\n--- stdout ---\n${run.out}\n--- stderr ---\n${run.err}`);
    }
  }

  /** address → driver ("none" when unbound) as sysfs showed it when the job took snapshot `name`. */
  drivers(name: string): Record<string, string> {
    const file = join(this.dir, 'drivers', `${name}.txt`);
    if (!existsSync(file)) throw new Error(`the job took no driver snapshot "${name}" (no ${file})`);
    return Object.fromEntries(read(file).trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
  }

  facts(): Record<string, string> {
    return Object.fromEntries(read(join(this.dir, 'facts.txt')).trim().split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf(' ');
      return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
    }));
  }

  file(name: string): string {
    return read(join(this.dir, name));
  }
}
