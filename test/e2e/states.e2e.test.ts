// The renderer in real Chromium on the in-memory client: every view and every connection state
// (connecting, helper down, not allowed, a failed switch) rendered under the strict CSP, checked by
// axe-core, screenshotted light and dark. The live path against a real helper is desk.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { chromiumBlocker, launchChromium } from './lib/chromium';
import { buildRenderer } from './lib/build';
import { serveStatic } from './lib/static-server';
import { screenshot, seriousAxeViolations, watchPage } from './lib/page-checks';

const blocker = chromiumBlocker();
if (blocker) console.warn(`e2e SKIPPED: ${blocker}. The renderer was not checked in a real browser.`);

describe.skipIf(blocker !== null)('renderer states in Chromium (in-memory client)', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    server = await serveStatic(buildRenderer('bench'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(scheme: 'light' | 'dark'): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const { problems } = watchPage(page);
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(`${server.url}/bench.html`);
    await page.waitForFunction(() => '__batonBench' in window);
    return { page, problems };
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`every view and state passes axe and loads under the strict CSP (${scheme})`, async () => {
      const { page, problems } = await open(scheme);
      await page.evaluate(() => window.__batonBench.mount({ gpus: 2, vms: 3, history: 2000, view: 'desk' }));
      const checks: Record<string, Awaited<ReturnType<typeof seriousAxeViolations>>> = {};
      for (const view of ['Desk', 'VMs', 'History', 'Settings']) {
        await page.getByRole('tab', { name: view }).click();
        if (view === 'History') {
          await page.locator('[data-entry]').first().click();
          await page.getByTestId('timeline').waitFor();
        }
        checks[view] = await seriousAxeViolations(page);
        await screenshot(page, `fake-${view.toLowerCase()}`, scheme);
      }
      // A failed, rolled-back switch on the desk.
      await page.getByRole('tab', { name: 'Desk' }).click();
      await page.evaluate(() => window.__batonBench.client().failNextSwitch({ step: 'attach', reason: 'win11 did not accept the device within 10 s' }));
      await page.getByRole('button', { name: 'Move gpu-a to win11' }).click();
      await page.getByTestId('failed-step').waitFor();
      checks['failed switch'] = await seriousAxeViolations(page);
      await screenshot(page, 'fake-desk-failed', scheme);
      // A switch under way (slow steps), then the connection states.
      await page.evaluate(() => window.__batonBench.mount({ gpus: 2, vms: 3, history: 0, view: 'desk', stepMs: 60_000 }));
      await page.getByRole('button', { name: 'Move gpu-b to linux-dev' }).click();
      await page.getByTestId('progress').locator('[data-outcome="running"]').waitFor();
      checks['switch under way'] = await seriousAxeViolations(page);
      await screenshot(page, 'fake-desk-busy', scheme);
      for (const state of [
        { kind: 'helper-down', message: 'connect ENOENT /run/baton/helper.sock' },
        { kind: 'not-allowed', message: 'uid 1000 is not root, not in group baton, not in helper.users' },
        { kind: 'connecting', attempt: 2 },
      ] as const) {
        await page.evaluate((s) => window.__batonBench.client().setConnection(s), state);
        await page.getByRole('alert').first().waitFor();
        checks[`banner ${state.kind}`] = await seriousAxeViolations(page);
        await screenshot(page, `fake-banner-${state.kind}`, scheme);
      }
      // Without a desk yet: the full-page states.
      for (const state of [
        { kind: 'helper-down', message: 'connect ENOENT /run/baton/helper.sock' },
        { kind: 'not-allowed', message: 'uid 1000 is not root, not in group baton, not in helper.users' },
      ] as const) {
        await page.evaluate((connection) => window.__batonBench.mount({ gpus: 2, vms: 3, history: 0, view: 'desk', connection }), state);
        await page.getByRole('heading', { name: state.kind === 'helper-down' ? 'The Baton helper is not running' : 'Not allowed to talk to the helper' }).waitFor();
        checks[`panel ${state.kind}`] = await seriousAxeViolations(page);
        await screenshot(page, `fake-panel-${state.kind}`, scheme);
      }
      expect(checks).toEqual(Object.fromEntries(Object.keys(checks).map((k) => [k, []])));
      expect(problems).toEqual([]);
      await page.close();
    });
  }
});
