// Reads what a lab job written with test/lab/kvm/handoff-lib.sh leaves in the results share:
// commands (cmd/NAME.{out,err,meta}) and sysfs snapshots (snap/NAME.txt), so tests can assert on
// the live kernel's state at each step.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CommandRun {
  name: string;
  /** Exit status; 124 means the job's `timeout` killed it. */
  rc: number;
  /** Wall time measured in L1 around the command (node start-up included). */
  wallMs: number;
  out: string;
  err: string;
  /**
   * What the command said about its failure: stderr, plus the message and details of a `--json`
   * error document on stdout (with --json the CLI reports errors there, not on stderr).
   */
  failure: string;
  /** Extra "key value" pairs the job recorded with the command (e.g. waitMs). */
  extra: Record<string, string>;
}

export interface Snapshot {
  name: string;
  driver: Map<string, string>;
  override: Map<string, string>;
  group: Map<string, string>;
  /** The VGA arbiter's view of VGA devices: what they own and the locks held, e.g. "none(0:0)". */
  arbiter: Map<string, { owns: string; locks: string }>;
  /** Vendor id as sysfs shows it, e.g. "0x1234". */
  vendor: Map<string, string>;
  /** Connector name → PCI address of the device it belongs to. */
  connectors: Map<string, string>;
  soundCards: Map<string, string>;
  netdevs: Map<string, string>;
  devVfio: string[];
  /** Live node / qemu processes (zombies left out). */
  processes: { pid: number; comm: string; state: string }[];
  /** The state dir's drivers.json, parsed; null when absent. */
  memory: { functions?: Record<string, unknown>; consoles?: Record<string, unknown> } | null;
}

export class JobResults {
  constructor(readonly dir: string) {}

  has(name: string): boolean {
    return existsSync(join(this.dir, 'cmd', `${name}.meta`));
  }

  cmd(name: string): CommandRun {
    const base = join(this.dir, 'cmd', name);
    if (!existsSync(`${base}.meta`)) throw new Error(`the job did not run the command "${name}" (no ${base}.meta)`);
    const meta = Object.fromEntries(readFileSync(`${base}.meta`, 'utf8').trim().split('\n').map((l) => {
      const [k, ...v] = l.split(' ');
      return [k ?? '', v.join(' ')];
    }));
    const { rc, ms, ...extra } = meta;
    const out = read(`${base}.out`);
    const err = read(`${base}.err`);
    return { name, rc: Number(rc), wallMs: Number(ms), out, err, failure: [err, ...jsonError(out)].filter(Boolean).join('\n'), extra };
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

  snap(name: string): Snapshot {
    const file = join(this.dir, 'snap', `${name}.txt`);
    if (!existsSync(file)) throw new Error(`the job took no snapshot "${name}" (no ${file})`);
    const s: Snapshot = {
      name, driver: new Map(), override: new Map(), group: new Map(), arbiter: new Map(), vendor: new Map(), connectors: new Map(), soundCards: new Map(),
      netdevs: new Map(), devVfio: [], processes: [], memory: null,
    };
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [kind, a = '', b = '', c = ''] = line.split(' ');
      if (kind === 'driver') s.driver.set(a, b);
      else if (kind === 'override') s.override.set(a, b);
      else if (kind === 'group') s.group.set(a, b);
      else if (kind === 'vendor') s.vendor.set(a, b);
      else if (kind === 'arbiter') s.arbiter.set(a, { owns: b, locks: c });
      else if (kind === 'connector') s.connectors.set(a, b);
      else if (kind === 'soundcard') s.soundCards.set(a, b);
      else if (kind === 'netdev') s.netdevs.set(a, b);
      else if (kind === 'devvfio') s.devVfio.push(a);
      else if (kind === 'process' && c !== 'Z') s.processes.push({ pid: Number(a), comm: b, state: c });
      else if (kind === 'memory') s.memory = a === 'missing' ? null : (JSON.parse(line.slice('memory '.length)) as Snapshot['memory']);
    }
    return s;
  }

  /** "key value" lines of facts.txt. */
  facts(): Record<string, string> {
    const file = join(this.dir, 'facts.txt');
    if (!existsSync(file)) return {};
    return Object.fromEntries(readFileSync(file, 'utf8').trim().split('\n').map((l) => {
      const i = l.indexOf(' ');
      return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
    }));
  }
}

/** Addresses (values of the map) of the devices the snapshot lists, e.g. connectors of one GPU. */
export function namesFor(map: Map<string, string>, address: string): string[] {
  return [...map].filter(([, a]) => a === address).map(([name]) => name);
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** min / median / max of a list of durations, for the printed summary. */
export function spread(values: number[]): { n: number; min: number; median: number; max: number } {
  const sorted = [...values].sort((x, y) => x - y);
  return { n: sorted.length, min: sorted[0] ?? NaN, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

/** The message and detail lines of a CLI `--json` error document (`{ok: false, error}`), if that is what `out` is. */
function jsonError(out: string): string[] {
  try {
    const doc = JSON.parse(out) as { ok?: unknown; error?: { message?: unknown; details?: unknown } };
    if (doc.ok !== false || typeof doc.error?.message !== 'string') return [];
    const details = Array.isArray(doc.error.details) ? doc.error.details.filter((d): d is string => typeof d === 'string') : [];
    return [doc.error.message, ...details];
  } catch {
    return [];
  }
}
