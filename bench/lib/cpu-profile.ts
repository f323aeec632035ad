// Where a process's CPU time went, from a V8 .cpuprofile (node --cpu-prof): self and total time per
// function, idle left out, as a Markdown table. Used by the lab bench's --profile run.

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
/** timeDeltas[i]: microseconds from the previous sample (from startTime for the first) to sample i. */
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

/** Names V8 gives to time outside JavaScript functions. */
const IDLE = '(idle)';

function frameName(f: CallFrame): string {
  const file = f.url ? f.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/') : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
}

/** Self and total (self + callees, each function counted once per stack) microseconds per function. */
export function profileTimes(profile: CpuProfile): { busyUs: number; idleUs: number; self: Map<string, number>; total: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  // Each sample stands for the time until the next one (DevTools' flame chart does the same); the
  // last until endTime. V8 may write a negative delta (samples out of order): counted as 0.
  let at = profile.startTime;
  const times = profile.timeDeltas.map((d) => (at += d));
  profile.samples.forEach((id, i) => {
    const us = Math.max(0, (times[i + 1] ?? profile.endTime) - (times[i] ?? profile.endTime));
    const node = byId.get(id);
    if (!node) return;
    if (node.callFrame.functionName === IDLE) { idleUs += us; return; }
    busyUs += us;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      const key = frameName(n.callFrame);
      if (seen.has(key) || n.callFrame.functionName === '(root)') continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + us);
    }
  });
  return { busyUs, idleUs, self, total };
}

export function summariseProfile(profile: CpuProfile, top = 25): string {
  const { busyUs, idleUs, self, total } = profileTimes(profile);
  const ms = (us: number) => (us / 1000).toFixed(1);
  const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => `| ${name.replaceAll('|', '\\|')} | ${ms(us)} ms | ${((100 * us) / Math.max(1, busyUs)).toFixed(1)} % |`);
  return [
    `busy ${ms(busyUs)} ms, idle ${ms(idleUs)} ms`,
    '', '| function (self time) | ms | of busy |', '| --- | ---: | ---: |', ...rows(self),
    '', '| function (total time, with what it calls) | ms | of busy |', '| --- | ---: | ---: |', ...rows(total),
  ].join('\n');
}
