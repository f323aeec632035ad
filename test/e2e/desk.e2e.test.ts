// End to end in real Chromium against a real simulated helper and a real `baton ui`: the desk as the
// helper reports it, a switch by click with its steps live and in the history, a fault injected
// into the simulator shown with its step, reason, rollback and where the GPU ended, a switch from
// the CLI showing up without a reload, every view light and dark through axe-core, and the whole
// thing driven from the keyboard alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumBlocker, launchChromium } from './lib/chromium';
import { buildRenderer, PRODUCT_DIST } from './lib/build';
import { screenshot, seriousAxeViolations, watchPage } from './lib/page-checks';
import type { DeskStack } from '../support/desk-stack';

const blocker = chromiumBlocker();
if (blocker) console.warn(`e2e SKIPPED: ${blocker}. The desk was not checked in a real browser.`);

describe.skipIf(blocker !== null)('the desk in Chromium against a real simulated helper and baton ui', () => {
  let browser: Browser;
  let desk: DeskStack;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    buildRenderer('production');
    // Imported here so a machine without Chromium does not load the engine for nothing.
    const { startDeskStack } = await import('../support/desk-stack');
    // In-process so the test holds the simulator's faults; steps at a fifth of the lab's latencies:
    // long enough to watch, short enough for a test.
    desk = await startDeskStack({ helper: 'in-process', speed: 0.2, distDir: PRODUCT_DIST });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    ({ problems } = watchPage(page));
    await page.goto(desk.url);
  });
  afterAll(async () => {
    await browser?.close();
    await desk?.stop();
  });

  /** Every step state the page showed for a GPU, in order, recorded in the page as it changes. */
  async function recordSteps(gpu: string): Promise<void> {
    await page.evaluate((name) => {
      const seen: string[] = [];
      (window as unknown as Record<string, string[]>)[`steps-${name}`] = seen;
      new MutationObserver(() => {
        for (const li of document.querySelectorAll(`[data-gpu="${name}"] [data-testid="progress"] [data-step]`)) {
          const key = `${li.getAttribute('data-step')}:${li.getAttribute('data-outcome')}`;
          if (!seen.includes(key)) seen.push(key);
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    }, gpu);
  }
  const stepsSeen = async (gpu: string): Promise<string[]> => (await page.evaluate((name) => (window as unknown as Record<string, string[]>)[`steps-${name}`], gpu)) ?? [];
  const owner = (gpu: string) => page.locator(`[data-gpu="${gpu}"]`).getAttribute('data-owner');
  const shows = (connector: string) => page.getByTestId('desk-picture').locator(`[data-connector="${connector}"]`).getAttribute('data-shows');

  it('shows every GPU with its owner and monitors, and the desk picture', async () => {
    await page.getByRole('article', { name: 'gpu-a' }).waitFor();
    expect(await page.getByRole('article').count()).toBe(2);
    expect(await owner('gpu-a')).toBe('host');
    expect(await owner('gpu-b')).toBe('host');
    await expect(page.locator('[data-gpu="gpu-a"] [data-connector="card1-Virtual-2"]').textContent()).resolves.toContain('Left');
    await expect(page.locator('[data-gpu="gpu-b"] [data-connector="card2-Virtual-3"]').textContent()).resolves.toContain('Right');
    expect(await shows('card1-Virtual-2')).toBe('host');
    expect(await shows('card2-Virtual-3')).toBe('host');
    // Drawn by aspect ratio: both 16:9 monitors are as wide as tall × 16/9.
    const box = await page.getByTestId('desk-picture').locator('[data-connector="card1-Virtual-2"] rect').evaluate((r) => ({ w: Number(r.getAttribute('width')), h: Number(r.getAttribute('height')) }));
    expect(box.w / box.h).toBeCloseTo(1920 / 1080, 2);
    expect(await page.getByRole('status', { name: /Connection: Connected/ }).count()).toBe(1);
    // The token left the address bar (and so the history), and no cookie carries it.
    expect(page.url()).toBe(`${desk.origin}/`);
    expect(await page.context().cookies()).toEqual([]);
  });

  it('a click starts a switch whose steps show live, then the owner, the picture and the history change', async () => {
    await recordSteps('gpu-a');
    await page.getByRole('button', { name: 'Move gpu-a to win11' }).click();
    await page.locator('[data-gpu="gpu-a"] [data-testid="last-outcome"][data-outcome="succeeded"]').waitFor({ timeout: 60_000 });
    const seen = await stepsSeen('gpu-a');
    // Each step was seen running, and each but the last was seen done after it ran: progress is
    // live, not a summary afterwards. (The last step's end arrives with the switch's end, which
    // replaces the progress with the outcome.)
    for (const step of ['claim', 'reset', 'attach']) expect(seen, seen.join(' ')).toContain(`${step}:running`);
    for (const step of ['claim', 'reset']) {
      expect(seen, seen.join(' ')).toContain(`${step}:ok`);
      expect(seen.indexOf(`${step}:running`)).toBeLessThan(seen.indexOf(`${step}:ok`));
    }
    expect(seen.indexOf('reset:running')).toBeGreaterThan(seen.indexOf('claim:ok'));
    expect(await owner('gpu-a')).toBe('win11');
    expect(await shows('card1-Virtual-2')).toBe('win11');
    await page.getByRole('tab', { name: 'History' }).click();
    const first = page.locator('[data-testid="history-grid"] [aria-rowindex="2"]');
    await expect(first.textContent()).resolves.toMatch(/gpu-a.*Host → win11.*succeeded.*browser/);
    await first.click();
    await page.getByTestId('timeline').waitFor();
    const stepRows = await page.getByTestId('timeline').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')));
    expect(stepRows).toEqual(expect.arrayContaining(['claim', 'reset', 'attach']));
    await page.getByRole('tab', { name: 'Desk' }).click();
  });

  it('a fault injected into the simulator shows the failing step, the reason, the rollback and where the GPU is', async () => {
    desk.sim!.injectFault({ operation: 'attach', vm: 'linux-dev', kind: 'error' });
    await page.getByRole('button', { name: 'Move gpu-b to linux-dev' }).click();
    const failure = page.locator('[data-gpu="gpu-b"] [data-testid="last-outcome"]');
    await failure.and(page.locator('[data-outcome="rolled-back"], [data-outcome="failed"], [data-outcome="parked"]')).waitFor({ timeout: 60_000 });
    expect(await failure.getByTestId('failed-step').textContent()).toBe('attach');
    expect(await failure.getByTestId('failure-reason').textContent()).toMatch(/\S/);
    expect(await failure.getByTestId('rolled-back').textContent()).not.toBe('nothing');
    const finalOwner = await failure.getByTestId('final-owner').textContent();
    // The page says where the GPU is, and that is where the helper has it.
    const helperSays = await desk.baton(['status', '--json']);
    const gpuB = (JSON.parse(helperSays.stdout) as { gpus: { name: string; owner: string }[] }).gpus.find((g) => g.name === 'gpu-b');
    if (!gpuB) throw new Error(`baton status --json names no gpu-b: ${helperSays.stdout}`);
    expect(finalOwner).toBe(gpuB.owner === 'host' ? 'Host' : gpuB.owner);
    expect(await owner('gpu-b')).toBe(gpuB.owner);
    expect(await shows('card2-Virtual-3')).toBe(gpuB.owner);
    await screenshot(page, 'desk-failed', 'light');
  });

  it('a switch started from the CLI shows up in the open page without a reload', async () => {
    await page.evaluate(() => { (window as unknown as { stillHere: boolean }).stillHere = true; });
    await recordSteps('gpu-a');
    const cli = await desk.baton(['switch', 'gpu-a', 'host']);
    expect(cli.code, cli.stderr).toBe(0);
    await page.waitForFunction(() => document.querySelector('[data-gpu="gpu-a"]')?.getAttribute('data-owner') === 'host', undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    expect(await shows('card1-Virtual-2')).toBe('host');
    expect((await stepsSeen('gpu-a')).length).toBeGreaterThan(0);
    await page.getByRole('tab', { name: 'History' }).click();
    await expect(page.locator('[data-testid="history-grid"] [aria-rowindex="2"]').textContent()).resolves.toMatch(/gpu-a.*win11 → Host.*cli/);
    await page.getByRole('tab', { name: 'Desk' }).click();
  });

  it('every view passes axe-core (no serious or critical finding), light and dark; screenshots kept', async () => {
    const found: Record<string, unknown[]> = {};
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const view of ['Desk', 'VMs', 'History', 'Settings']) {
        await page.getByRole('tab', { name: view }).click();
        if (view === 'History') {
          await page.locator('[data-testid="history-grid"] [data-entry]').first().click();
          await page.getByTestId('timeline').waitFor();
        }
        found[`${view} ${scheme}`] = await seriousAxeViolations(page);
        await screenshot(page, view.toLowerCase(), scheme);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    expect(problems).toEqual([]);
  });

  it('a reload keeps the desk (the token from this tab\'s sessionStorage); a tab without the token is refused', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(desk.url);
    await tab.getByRole('article', { name: 'gpu-a' }).waitFor();
    expect(tab.url()).toBe(`${desk.origin}/`);
    await tab.reload();
    await tab.getByRole('status', { name: /Connection: Connected/ }).waitFor();
    expect(await tab.getByRole('article').count()).toBe(2);
    expect(await tab.context().cookies()).toEqual([]);
    await tab.close();
    // A fresh context: same origin, no fragment, nothing stored. The page loads (it holds no
    // secret) and says the token is missing; the WebSocket is never opened.
    const context = await browser.newContext();
    const bare = await context.newPage();
    const upgrades: string[] = [];
    bare.on('websocket', (ws) => upgrades.push(ws.url()));
    await bare.goto(`${desk.origin}/`);
    await bare.getByRole('heading', { name: 'Not allowed to talk to the helper' }).waitFor();
    expect(await bare.getByText('#token=').count()).toBeGreaterThan(0);
    expect(upgrades).toEqual([]);
    await context.close();
  });

  it('every action works from the keyboard alone', async () => {
    const kb = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await kb.goto(desk.url);
    await kb.getByRole('article', { name: 'gpu-a' }).waitFor();
    // Tab from the top to the first enabled "Move gpu-a to …" button, then Enter.
    let label = '';
    for (let i = 0; i < 40 && label !== 'Move gpu-a to linux-dev'; i++) {
      await kb.keyboard.press('Tab');
      label = await kb.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');
    }
    expect(label).toBe('Move gpu-a to linux-dev');
    await kb.keyboard.press('Enter');
    await kb.waitForFunction(() => document.querySelector('[data-gpu="gpu-a"]')?.getAttribute('data-owner') === 'linux-dev', undefined, { timeout: 60_000 });
    // Views by the arrow keys on the tabs and Alt+N.
    await kb.keyboard.press('Alt+3');
    expect(await kb.getByRole('tab', { name: 'History' }).getAttribute('aria-selected')).toBe('true');
    await kb.keyboard.press('ArrowLeft');
    expect(await kb.getByRole('tab', { name: 'VMs' }).getAttribute('aria-selected')).toBe('true');
    await kb.keyboard.press('ArrowRight');
    // Into the history grid: Tab until it has focus, then Down, Enter picks the second switch.
    for (let i = 0; i < 60 && (await kb.evaluate(() => document.activeElement?.getAttribute('role'))) !== 'grid'; i++) await kb.keyboard.press('Tab');
    expect(await kb.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('grid');
    await kb.keyboard.press('ArrowDown');
    await kb.keyboard.press('Enter');
    const second = await kb.locator('[aria-rowindex="3"]').getAttribute('data-entry');
    expect(await kb.getByTestId('timeline').getAttribute('data-entry')).toBe(second);
    // A visible focus ring on whatever has focus.
    const outline = await kb.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await screenshot(kb, 'keyboard-history', 'light');
    await kb.close();
  });
});
