// UI benchmarks in real Chromium (Debian's, through playwright-core) on the renderer's bench page
// (the app on the in-memory client, built with `vite build --mode bench`):
//   - helper event → DOM update: a desk-changed pushed to the client until the GPU card shows the
//     new owner and the next frame ran (goal p95 ≤ 50 ms), on the 2-GPU desk and the 8 × 64 one;
//   - first render of a 100,000-entry history (goal ≤ 150 ms), jumps through it and scrolling it;
//   - first render of the desk for 8 GPUs × 64 VMs (goal ≤ 50 ms).
// Prints a Markdown section; `--write` appends it to bench/RESULTS.md. Timings are measured, never asserted.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { chromiumBlocker, launchChromium } from '../test/e2e/lib/chromium';
import { buildRenderer } from '../test/e2e/lib/build';
import { serveStatic } from '../test/e2e/lib/static-server';

const RUNS = Number(process.env.BATON_BENCH_RUNS ?? 5);
const EVENTS = Number(process.env.BATON_BENCH_EVENTS ?? 200);

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}
const ms = (v: number) => `${v.toFixed(1)} ms`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const blocker = chromiumBlocker();
  if (blocker) {
    console.error(`bench:ui cannot run: ${blocker}`);
    process.exit(1);
  }
  const server = await serveStatic(buildRenderer('bench'));
  const browser = await launchChromium();
  const rows: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/bench.html`);
    await page.waitForFunction(() => '__batonBench' in window);
    const mount = (o: { gpus: number; vms: number; monitorsPerGpu?: number; history: number; view: 'desk' | 'history' }) => page.evaluate((opts) => window.__batonBench.mount(opts), o);

    // Warm-up: the first mount also compiles the bundle.
    await mount({ gpus: 2, vms: 3, history: 1000, view: 'history' });
    await mount({ gpus: 8, vms: 64, history: 0, view: 'desk' });

    for (const [label, size] of [['2 GPUs × 3 VMs', { gpus: 2, vms: 3 }], ['8 GPUs × 64 VMs, 2 monitors each', { gpus: 8, vms: 64, monitorsPerGpu: 2 }]] as const) {
      await mount({ ...size, history: 0, view: 'desk' });
      const owners = await page.evaluate(() => window.__batonBench.client().current().vms.map((v) => v.name));
      const times: number[] = [];
      for (let i = 0; i < EVENTS; i++) {
        times.push(await page.evaluate(([g, o]) => window.__batonBench.pushOwner(g as number, o as string), [i % size.gpus, owners[i % owners.length]!] as const));
      }
      rows.push(`| helper event → DOM update, ${label} (${EVENTS} events) | p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, max ${ms(Math.max(...times))} | p95 ≤ 50 ms |`);
    }

    const deskFirst: number[] = [];
    for (let i = 0; i < RUNS; i++) deskFirst.push(await mount({ gpus: 8, vms: 64, monitorsPerGpu: 2, history: 0, view: 'desk' }));
    rows.push(`| first render of the desk, 8 GPUs × 64 VMs (${RUNS} runs) | median ${ms(pct(deskFirst, 50))}, max ${ms(Math.max(...deskFirst))} | ≤ 50 ms |`);

    const historyFirst: number[] = [];
    for (let i = 0; i < RUNS; i++) historyFirst.push(await mount({ gpus: 8, vms: 64, history: 100_000, view: 'history' }));
    rows.push(`| first render of a 100,000-entry history (${RUNS} runs) | median ${ms(pct(historyFirst, 50))}, max ${ms(Math.max(...historyFirst))} | ≤ 150 ms |`);
    const dom = await page.evaluate(() => document.querySelectorAll('[data-testid="history-grid"] [role="row"]').length);

    const jumps: number[] = [];
    for (let i = 0; i < 30; i++) jumps.push(await page.evaluate((index) => window.__batonBench.jumpHistory(index), Math.floor(((i * 7919) % 100) / 100 * 99_990)));
    jumps.push(await page.evaluate(() => window.__batonBench.jumpHistory(99_990)));
    rows.push(`| jump to a row of the 100,000 (page not loaded yet: fetch + render; 31 jumps) | p50 ${ms(pct(jumps, 50))}, p95 ${ms(pct(jumps, 95))} | — |`);
    await page.evaluate(() => window.__batonBench.jumpHistory(0));
    const frames = await page.evaluate(() => window.__batonBench.scrollHistory(320, 240));
    rows.push(`| scrolling it, 320 px per frame, 240 frames | frame p50 ${ms(pct(frames, 50))}, p95 ${ms(pct(frames, 95))}, max ${ms(Math.max(...frames))}; ${dom} rows in the DOM | — |`);
  } finally {
    await browser.close();
    await server.close();
  }

  const version = (createRequire(import.meta.url)('playwright-core/package.json') as { version: string }).version;
  const section = [
    '',
    `## UI (renderer in Chromium), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`npm run bench:ui\` (bench/ui-chromium.ts). Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (shared with other jobs); Debian Chromium headless via playwright-core ${version}; the app on the in-memory client (renderer/src/bench), production build.`,
    '',
    '| What | Measured | Goal |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  console.log(section);
  if (argv.includes('--write')) {
    if (!existsSync('bench/RESULTS.md')) writeFileSync('bench/RESULTS.md', '# Benchmark results\n\nEach section says its command, machine and date. Figures are measured, never asserted by tests.\n');
    appendFileSync('bench/RESULTS.md', section);
  }
}

