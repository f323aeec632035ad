// Electron main's controllers against a real `baton helper --simulate` process over its socket:
// the desk arrives with the config's shortcuts, a switch asked through the connection is announced
// as started and done, and after the helper process is killed and started again the connection
// comes back by itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { HelperConnection } from '../../../app/main/helper-connection.js';
import { connectSession } from '../../../app/main/helper-session.js';
import { NotificationController } from '../../../app/main/notification-controller.js';
import { realTimers, type NotificationContent } from '../../../app/main/ports.js';
import { simulatedConfigYaml } from '../../../app/helper/simulate/config.js';
import { describeOrSkip } from '../../support/skip.js';

const root = new URL('../../..', import.meta.url).pathname;
const built = existsSync(join(root, 'dist/app/cli/bin.js'));
if (!built) {
  if (process.env.CI === 'true') throw new Error('dist/ is not built: run npm run build before the unit tests');
  console.log('SKIPPED simulated-helper test: dist/ is not built (npm run build)');
}

async function until(what: string, ok: () => boolean, limitMs = 60_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'baton-tray-sim-'));
const config = join(dir, 'baton.yaml');
const socket = join(dir, 'helper.sock');
const helpers: ChildProcess[] = [];
function startHelper(): ChildProcess {
  const child = spawn(process.execPath, [join(root, 'bin/baton'), 'helper', '--simulate', '--config', config, '--insecure-config', '--socket', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  helpers.push(child);
  return child;
}
afterAll(() => {
  for (const h of helpers) h.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describeOrSkip(built ? null : 'dist/ is not built (npm run build; npm test builds first)', 'against a real `baton helper --simulate`', () => {
  it('desk and shortcuts arrive, a switch is announced started and done, and the connection survives a helper restart', async () => {
    writeFileSync(config, simulatedConfigYaml({ stateDir: dir }));
    let helper = startHelper();
    const c = new HelperConnection({ socketPath: socket, connect: connectSession, timers: realTimers, backoff: { initialMs: 50, maxMs: 500 } });
    const shown: NotificationContent[] = [];
    const notes = new NotificationController({ isSupported: () => true, show: (n) => void shown.push(n) }, { show: () => {}, focusSwitch: () => {} });
    c.onEvent((e) => notes.handle(e));
    c.start();
    try {
      await until('connected', () => c.state.kind === 'connected');
      const desk = c.snapshot;
      expect(desk?.gpus.map((g) => g.name)).toEqual(['gpu-a', 'gpu-b']);
      expect(desk?.config.shortcuts).toContainEqual({ keys: 'Super+Alt+1', gpu: 'gpu-a', target: 'win11' });
      const from = desk?.gpus[0]?.owner;
      const to = from === 'win11' ? 'host' : 'win11';

      const result = await c.switchGpu('gpu-a', to, 'tray');
      expect(result.outcome).toBe('succeeded');
      await until('the end notification', () => shown.length >= 2);
      expect(shown[0]?.title).toBe(`Moving gpu-a to ${to}`);
      expect(shown[1]?.title).toBe(to === "host" ? "gpu-a is now with the host" : `gpu-a is now with ${to}`);
      expect(shown[1]?.body).toMatch(/^Moved from \S+ in [\d.]+ (ms|s)\.$/);
      await until('the desk shows the new owner', () => c.snapshot?.gpus[0]?.owner === to);

      helper.kill('SIGTERM');
      await until('helper-down', () => c.state.kind === 'helper-down');
      helper = startHelper();
      await until('connected again', () => c.state.kind === 'connected');
      expect(c.snapshot?.gpus.map((g) => g.name)).toEqual(['gpu-a', 'gpu-b']);
    } finally {
      c.stop();
    }
  });
});
