// Every port call a helper makes on the simulated workstation, with what it touches (the GPU, by
// its slot, and the VM) and when it started and ended, in one sequence of events. It finds a call
// that started on a GPU or a VM while another call on it was still out: the race of issue 8's F3
// (an undo, a look or a bind beside a detach still in flight, or an unbind still in the kernel).
import type { HostPort } from '../../app/domain/switch/ports.js';
import type { VmBackend } from '../../app/domain/vm/port.js';

export interface TracedCall {
  /** "detachGpu win11", "claim 0000:01:00.0". */
  name: string;
  /** "gpu:0000:01:00" (a GPU by its slot), "vm:win11". */
  keys: string[];
  start: number;
  /** null while the call is out. */
  end: number | null;
  /** Started while `exempt` was set (a status read in a test, not the engine's work). */
  exempt: boolean;
}

/** Calls that only read what is there. */
const READS = new Set(['state', 'passthroughDevices', 'drivers', 'inventory', 'listVms']);

const slot = (address: unknown) => `gpu:${String(address).replace(/\.[0-7]$/, '')}`;

function hostKeys(method: string, args: unknown[]): string[] {
  if (method === 'drivers') return [...new Set((args[0] as string[]).map(slot))];
  if (['claim', 'release', 'reset', 'romFile'].includes(method)) return [slot(args[0])];
  return []; // inventory: a read of the whole bus, no one GPU's
}

function vmKeys(method: string, args: unknown[]): string[] {
  if (method === 'listVms' || typeof args[0] !== 'string') return [];
  const keys = [`vm:${args[0]}`];
  if (method === 'attachGpu') keys.push(...new Set(((args[1] as { functions: string[] }).functions).map(slot)));
  if (method === 'detachGpu') keys.push(...new Set((args[1] as string[]).map(slot)));
  if (method === 'start') {
    const withGpu = (args[1] as { withGpu?: { functions: string[] } } | undefined)?.withGpu;
    if (withGpu) keys.push(...new Set(withGpu.functions.map(slot)));
  }
  return keys;
}

export class CallTrace {
  readonly calls: TracedCall[] = [];
  /** Calls started while set are not the engine's (a test's status read). */
  exempt = false;
  private clock = 0;

  host(target: HostPort): HostPort {
    return this.wrap(target, hostKeys);
  }

  vm(target: VmBackend): VmBackend {
    return this.wrap(target, vmKeys);
  }

  private wrap<T extends object>(target: T, keysOf: (method: string, args: unknown[]) => string[]): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || prop === 'events' || prop === 'close' || typeof prop !== 'string') return value;
        return (...args: unknown[]) => {
          const call: TracedCall = { name: `${prop} ${String(args[0])}`, keys: keysOf(prop, args), start: ++this.clock, end: null, exempt: this.exempt };
          this.calls.push(call);
          const ended = () => void (call.end = ++this.clock);
          let result: unknown;
          try {
            result = value.apply(obj, args);
          } catch (err) {
            ended();
            throw err;
          }
          if (result instanceof Promise) result.then(ended, ended);
          else ended();
          return result;
        };
      },
    });
  }

  /**
   * Calls (not exempt) that started on a key while another call on it was still out, one of the
   * two changing something (two reads side by side race nothing).
   */
  overlaps(keep: (key: string) => boolean = () => true): string[] {
    const found: string[] = [];
    const live = this.calls.filter((c) => !c.exempt);
    const reads = (c: TracedCall) => READS.has(c.name.split(' ')[0]!);
    for (const c of live) {
      for (const d of live) {
        if (d === c || d.start >= c.start || (d.end !== null && d.end < c.start) || (reads(c) && reads(d))) continue;
        const shared = c.keys.filter((k) => keep(k) && d.keys.includes(k));
        if (shared.length) found.push(`${c.name} started on ${shared.join(', ')} while ${d.name} was still out`);
      }
    }
    return found;
  }

  /** The calls of this name (e.g. "pause"). */
  named(method: string): TracedCall[] {
    return this.calls.filter((c) => c.name.startsWith(`${method} `));
  }
}
