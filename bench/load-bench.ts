// Load (issue 13 item 5): 8 GPUs switching at once on a simulated workstation with 64 VMs and 20
// subscribed clients, random requests for a bounded time (45 s; 10 minutes with --full): switches
// per second, p50/p95 of a status call under that load, and nothing lost: every switch answered is
// in the history, every history entry was answered, every subscriber saw every switch end.
//   node dist/bench/load-bench.js [--seconds S] [--full] [--gpus 8] [--vms 64] [--subscribers 20] [--state-root DIR]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectHelper, type HelperClient } from '../app/protocol/helper-client.js';
import { startHelperProcess } from './lib/helper-process.js';
import { vmName } from './lib/load-machine.js';
import { childPids, cpuSeconds, mib, openFds, percentile, rssBytes } from './lib/proc.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, full: { type: 'boolean' }, gpus: { type: 'string' }, vms: { type: 'string' }, subscribers: { type: 'string' }, 'state-root': { type: 'string' } }, strict: false });
const SECONDS = Number(values.seconds ?? (values.full ? 600 : 45));
const GPUS = Number(values.gpus ?? 8);
const VMS = Number(values.vms ?? 64);
const SUBSCRIBERS = Number(values.subscribers ?? 20);
const RANDOM_WORKERS = 4;
const ROOT = new URL('../..', import.meta.url).pathname;
const out = (line: string) => console.log(line);

// A small seeded generator: the request mix is the same on every run.
let seed = 0x5eed;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const targets = ['host', 'park', ...Array.from({ length: VMS }, (_, i) => vmName(i))];
const gpus = Array.from({ length: GPUS }, (_, i) => `gpu-${i}`);

// --state-root /dev/shm puts the journal and history on tmpfs: compares the fsync-bound figures.
const dir = mkdtempSync(join(typeof values['state-root'] === 'string' ? values['state-root'] : tmpdir(), 'baton-load-'));
const helper = await startHelperProcess([join(ROOT, 'dist/bench/lib/sim-helper-main.js'), '--state', dir, '--shape', `${GPUS},${VMS}`], join(dir, 'helper.sock'));
out(`load: ${GPUS} GPUs, ${VMS} VMs, ${SUBSCRIBERS} subscribed clients, of which ${GPUS} switch (one per GPU) and ${RANDOM_WORKERS} send random requests, 1 status prober; ${SECONDS} s`);

const subscribers: { client: HelperClient; ended: Set<string>; started: Set<string> }[] = [];
for (let i = 0; i < SUBSCRIBERS; i++) {
  const client = await connectHelper(helper.socketPath);
  const ended = new Set<string>();
  const started = new Set<string>();
  client.onEvent((e) => {
    if (e.kind === 'switch-ended') ended.add(e.switchId);
    if (e.kind === 'switch-started') started.add(e.switchId);
  });
  await client.call('subscribe');
  subscribers.push({ client, ended, started });
}

const answered = new Map<string, string>(); // switchId → outcome
const outcomes: Record<string, number> = {};
const refusals: Record<string, number> = {};
const switchMs: number[] = [];
const statusMs: number[] = [];
let requests = 0;
const deadline = Date.now() + SECONDS * 1000;
const cpu0 = cpuSeconds(helper.pid);
const rss0 = rssBytes(helper.pid);

async function switchOnce(client: HelperClient, gpu: string): Promise<void> {
  const t0 = performance.now();
  requests++;
  try {
    const r = await client.call('switch', { gpu, target: pick(targets), requestedBy: pick(['cli', 'tray', 'shortcut', 'browser'] as const) });
    switchMs.push(performance.now() - t0);
    answered.set(r.switchId, r.outcome);
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  } catch (err) {
    const key = (err as Error).message.replace(/["'][^"']*["']/g, '…').slice(0, 80);
    refusals[key] = (refusals[key] ?? 0) + 1;
  }
}

// The helper serves one user at most 32 connections (DEFAULT_LIMITS.maxConnectionsPerUid), and every
// client here is root: the switching and random workers are subscribers too (the first ones), so the
// 20 subscribed clients and the workers fit in 21 connections, as 20 desks and trays would.
const workerClients = subscribers.map((s) => s.client);
const clientFor = async (): Promise<HelperClient> => workerClients.shift() ?? connectHelper(helper.socketPath);

async function gpuWorker(gpu: string): Promise<void> {
  const client = await clientFor();
  while (Date.now() < deadline) await switchOnce(client, gpu);
}

async function randomWorker(): Promise<void> {
  const client = await clientFor();
  while (Date.now() < deadline) {
    const r = random();
    if (r < 0.5) await switchOnce(client, pick(gpus)); // races the GPU's own worker: coalesced or queued
    else {
      requests++;
      if (r < 0.7) await client.call('history', { limit: 50, gpu: pick(gpus) });
      else if (r < 0.85) await client.call('status');
      else if (r < 0.95) await client.call('hello');
      else await client.call('reconcile');
    }
  }
}

async function statusProber(): Promise<void> {
  const client = await connectHelper(helper.socketPath);
  while (Date.now() < deadline) {
    const t0 = performance.now();
    await client.call('status');
    statusMs.push(performance.now() - t0);
    requests++;
    await new Promise((r) => setTimeout(r, 20));
  }
  client.close();
}

const t0 = performance.now();
await Promise.all([...gpus.map(gpuWorker), ...Array.from({ length: RANDOM_WORKERS }, randomWorker), statusProber()]);
const seconds = (performance.now() - t0) / 1000;
const cpu1 = cpuSeconds(helper.pid);
await new Promise((r) => setTimeout(r, 1000));

// Nothing lost: the history against the answers, and every subscriber against the history.
const check = await connectHelper(helper.socketPath);
const recorded = new Map<string, string>();
// Pages of up to 1,000; the helper stops a page short of the line limit (nextOffset), so the next
// page starts where this one ended (test/unit/history/page-bytes.test.ts).
for (let offset = 0; ;) {
  const page = await check.call('history', { limit: 1000, offset });
  for (const e of page.entries) recorded.set(String((e as { id?: string }).id), e.outcome);
  offset += page.entries.length;
  if (page.entries.length === 0 || offset >= page.total) break;
}
const status = await check.call('status');
check.close();
// A switch to where the GPU already is answers "succeeded" without running (no events, no entry).
const everStarted = new Set(subscribers.flatMap((s) => [...s.started]));
const notRecorded = [...answered.keys()].filter((id) => !recorded.has(id));
const noOps = notRecorded.filter((id) => answered.get(id) === 'succeeded' && !everStarted.has(id));
const missing = notRecorded.filter((id) => !noOps.includes(id));
const unanswered = [...recorded.keys()].filter((id) => !answered.has(id));
const mismatched = [...answered].filter(([id, o]) => recorded.has(id) && recorded.get(id) !== o);
const ran = [...answered].filter(([id, o]) => o !== 'superseded' && !noOps.includes(id)).length;
const ranIds = [...recorded].filter(([, o]) => o !== 'superseded').map(([id]) => id);
const eventsMissed = subscribers.map((s) => ranIds.filter((id) => !s.ended.has(id)).length);

const sw = [...switchMs].sort((a, b) => a - b);
const st = [...statusMs].sort((a, b) => a - b);
out(`switches run: ${ran} in ${seconds.toFixed(1)} s = ${(ran / seconds).toFixed(1)} switches/s (all GPUs); answers ${answered.size} (${JSON.stringify(outcomes)}); requests of every kind ${requests} = ${(requests / seconds).toFixed(0)}/s`);
out(`switch request latency (queueing included): p50 ${percentile(sw, 50).toFixed(1)} ms, p95 ${percentile(sw, 95).toFixed(1)} ms, max ${sw.at(-1)?.toFixed(1)} ms`);
out(`status latency under load: n=${st.length} p50 ${percentile(st, 50).toFixed(1)} ms, p95 ${percentile(st, 95).toFixed(1)} ms, max ${st.at(-1)?.toFixed(1)} ms`);
out(`refused requests: ${JSON.stringify(refusals)}`);
out(`history: ${recorded.size} entries; answered "succeeded" without running (already there) and so not recorded: ${noOps.length}; answered, ran, but missing from the history ${missing.length}; in the history but never answered ${unanswered.length}; outcome differs ${mismatched.length}`);
out(`subscribers: switch-ended events missed per subscriber: max ${Math.max(...eventsMissed)}, total ${eventsMissed.reduce((a, b) => a + b, 0)}`);
out(`gpus busy at the end: ${status.gpus.filter((g) => g.busy).length}; helper CPU ${(cpu1 - cpu0).toFixed(1)} s over ${seconds.toFixed(0)} s; RSS ${mib(rss0)} → ${mib(rssBytes(helper.pid))}; fds ${openFds(helper.pid).count}; children ${childPids(helper.pid).length}`);
if (missing.length) {
  const file = readFileSync(join(dir, 'history.jsonl'), 'utf8');
  out(`missing ids (first 10): ${missing.slice(0, 10).map((id) => `${id} (answered ${answered.get(id)}; ${file.includes(id) ? 'in history.jsonl' : 'not in history.jsonl either'})`).join(', ')}`);
}
if (unanswered.length) out(`unanswered ids (first 10): ${unanswered.slice(0, 10).join(', ')}`);
for (const s of subscribers) s.client.close();
await helper.stop();
rmSync(dir, { recursive: true, force: true });
