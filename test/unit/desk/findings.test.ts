// The settings view's findings: what the config names that the machine does not have, and errors
// of the file as it is on disk now, each at FILE:LINE:COL.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../app/domain/config/index.js';
import type { StatusSnapshot } from '../../../app/domain/switch/service.js';
import { DeskFeed } from '../../../app/helper/desk/feed.js';
import { createSimulatedWorkstation } from '../../../app/helper/simulate/index.js';

const TEXT = `version: 1
gpus:
  - name: gpu-a
    match: { address: "0000:01:00.0" }
  - name: gpu-x
    match: { address: "0000:09:00.0" }
monitors:
  - connector: card1-DP-7
    name: Nowhere
    gpu: gpu-a
`;

describe('config findings', () => {
  it('points at the config line of a GPU not on the bus and of a monitor not connected, then at errors made in the file since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-findings-'));
    const file = join(dir, 'baton.yaml');
    writeFileSync(file, TEXT);
    const parsed = parseConfig(TEXT, file);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const inventory = createSimulatedWorkstation({ speed: 0 }).workstation.inventory();
    const status: StatusSnapshot = { gpus: parsed.config.gpus.map((g) => ({ name: g.name, address: '0000:01:00.0' as never, owner: 'host', functions: [], busy: false })), vms: [], disagreements: [] };
    const feed = new DeskFeed({
      service: { status: async () => status, subscribe: () => () => {} },
      host: { inventory: async () => inventory },
      history: { query: () => ({ entries: [], nextCursor: null }) },
      config: parsed.config,
      configFile: file,
      stateDir: null,
      helper: { version: 'test', simulated: false },
    });
    const s = await feed.snapshot();
    expect(s.gpus.find((g) => g.name === 'gpu-x')).toMatchObject({ present: false, address: null, match: 'address 0000:09:00.0' });
    expect(s.config.findings).toEqual([
      { severity: 'warning', file, line: 8, col: 16, path: 'monitors[0].connector', message: 'card1-DP-7 is not connected to gpu-a (the host has the GPU, and its driver shows no such monitor)' },
      { severity: 'warning', file, line: 6, col: 12, path: 'gpus[1].match', message: 'GPU gpu-x is not on the PCI bus (the config finds it by address 0000:09:00.0)' },
    ]);
    expect(s.monitors.find((m) => m.connector === 'card1-DP-7')).toMatchObject({ presence: 'configured', label: 'Nowhere', gpu: 'gpu-a' });

    // Someone edits the file: the helper keeps what it loaded, and the desk says what is wrong now.
    writeFileSync(file, TEXT.replace('    name: Nowhere\n', '    name: Nowhere\n    colour: blue\n'));
    const later = await feed.snapshot();
    const error = later.config.findings.find((f) => f.severity === 'error');
    expect(error).toMatchObject({ file, line: 10, col: 5, path: 'monitors[0].colour' });
    expect(error?.message).toMatch(/colour.*\(in the file on disk; the helper keeps the config it loaded until it restarts\)/);
    expect((later.config.effective as { monitors: { name: string }[] }).monitors[0]?.name).toBe('Nowhere');
    feed.close();
  });
});
