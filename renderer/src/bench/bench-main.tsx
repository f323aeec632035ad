// The app on the in-memory client, for the UI benchmarks and for browser tests that run before a
// real helper is at hand. Built only with `vite build --mode bench` (never shipped). The page is
// driven through window.__batonBench.
import { createRoot, type Root } from 'react-dom/client';
import { flushSync } from 'react-dom';
import { App, type ViewId } from '../app/App';
import { FakeDeskClient } from '../../client/fake-client';
import { fakeDesk, fakeHistory } from '../../client/fake-desk';
import type { ConnectionState } from '../../client/types';

export interface BenchApi {
  /** Mount the app on a fresh fake desk; resolves once the first render is on screen. */
  mount(options: { gpus: number; vms: number; monitorsPerGpu?: number; history: number; view: ViewId; stepMs?: number; connection?: ConnectionState }): Promise<number>;
  client(): FakeDeskClient;
  /** Push a desk-changed that moves GPU `gpu` to `owner`; resolves with ms until the card shows it. */
  pushOwner(gpu: number, owner: string): Promise<number>;
  /** Jump the history grid so row `index` is in view; ms until that row shows its entry. */
  jumpHistory(index: number): Promise<number>;
  /** Scroll the history grid by `px` per frame for `frames` frames; the frame intervals in ms. */
  scrollHistory(px: number, frames: number): Promise<number[]>;
}

declare global {
  interface Window {
    __batonBench: BenchApi;
  }
}

let root: Root | null = null;
let current: FakeDeskClient | null = null;


window.__batonBench = {
  async mount({ gpus, vms, monitorsPerGpu, history, view, stepMs, connection }) {
    root?.unmount();
    const desk = fakeDesk({ gpus, vms, monitorsPerGpu: monitorsPerGpu ?? 1 });
    current = new FakeDeskClient(desk, { history: fakeHistory(history, desk.gpus.map((g) => g.name), desk.vms.map((v) => v.name)), stepMs: stepMs ?? 0, ...(connection ? { connection } : {}) });
    const el = document.getElementById('root')!;
    const t0 = performance.now();
    root = createRoot(el);
    flushSync(() => root!.render(<App client={current!} initialView={view} />));
    // The desk arrives from the client's (async) snapshot; the history's first page after that.
    const ready = connection && connection.kind !== 'connected' ? '.state-panel' : view === 'history' ? '[data-entry]' : '[data-gpu]';
    await waitFor(() => el.querySelector(ready) !== null);
    await new Promise((resolve) => requestAnimationFrame(resolve));
    return performance.now() - t0;
  },
  client() {
    if (!current) throw new Error('mount first');
    return current;
  },
  async pushOwner(gpu, owner) {
    const client = this.client();
    const name = client.current().gpus[gpu]!.name;
    const t0 = performance.now();
    client.update((d) => { d.gpus[gpu]!.owner = owner; });
    await waitFor(() => document.querySelector(`[data-gpu="${name}"]`)?.getAttribute('data-owner') === owner);
    // ...and until the frame that shows it.
    await new Promise((resolve) => requestAnimationFrame(resolve));
    return performance.now() - t0;
  },
  async jumpHistory(index) {
    const grid = document.querySelector<HTMLElement>('[data-testid="history-grid"]')!;
    const t0 = performance.now();
    grid.scrollTop = index * 32;
    await waitFor(() => document.querySelector(`[aria-rowindex="${index + 2}"][data-entry]`) !== null);
    await new Promise((resolve) => requestAnimationFrame(resolve));
    return performance.now() - t0;
  },
  async scrollHistory(px, frames) {
    const grid = document.querySelector<HTMLElement>('[data-testid="history-grid"]')!;
    const intervals: number[] = [];
    let last = performance.now();
    for (let i = 0; i < frames; i++) {
      grid.scrollTop += px;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      intervals.push(now - last);
      last = now;
    }
    return intervals;
  },
};

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const observer = new MutationObserver(() => {
      if (check()) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

