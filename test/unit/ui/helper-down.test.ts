// The bridge when the helper is not there: the page gets the reason, then a close code that says
// "retry later" (4502); when the helper refuses the user, "do not retry" (4403).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE_HELPER_DOWN, CLOSE_NOT_ALLOWED } from '../../../app/ui/bridge.js';
import { startUi, type UiServer } from '../../../app/ui/server.js';
import { RpcErrorCode } from '../../../app/protocol/rpc-errors.js';
import { cleanup, startTestDaemon } from '../helper/daemon/harness.js';

const servers: UiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await cleanup();
});

async function lastWords(socketPath: string): Promise<{ code: number; errors: { code: number; message: string }[] }> {
  const ui = await startUi({ socketPath, distDir: join(tmpdir(), 'no-build'), token: 't'.repeat(32) });
  servers.push(ui);
  const ws = new WebSocket(`${ui.origin.replace('http', 'ws')}/ws`, ['baton.v1', `baton.token.${ui.token}`], { headers: { Origin: ui.origin } });
  const errors: { code: number; message: string }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { id?: unknown; error?: { code: number; message: string } };
    if (m.id === null && m.error) errors.push(m.error);
  });
  const code = await new Promise<number>((resolve, reject) => {
    ws.once('close', (c) => resolve(c));
    ws.once('error', reject);
  });
  return { code, errors };
}

describe('baton ui without a helper to talk to', () => {
  it('says the helper cannot be reached, and closes with 4502', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'baton-nohelper-')), 'helper.sock');
    const { code, errors } = await lastWords(missing);
    expect(code).toBe(CLOSE_HELPER_DOWN);
    expect(errors).toEqual([{ code: RpcErrorCode.HelperUnavailable, message: expect.stringContaining(`cannot reach the helper at ${missing}: no such socket`) }]);
  });

  it('passes on the helper refusing the user, and closes with 4403', async () => {
    const { socketPath } = await startTestDaemon({ authorize: () => ({ allowed: false, reason: 'uid 1000 is not in group baton' }) });
    const { code, errors } = await lastWords(socketPath);
    expect(code).toBe(CLOSE_NOT_ALLOWED);
    expect(errors[0]).toMatchObject({ code: RpcErrorCode.NotAuthorized, message: 'uid 1000 is not in group baton' });
  });
});
