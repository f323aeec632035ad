// The relay's parent side against a real child process: a stand-in script that speaks the relay
// child's line protocol (the real child needs /dev/uinput and a keyboard, which only the lab has).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createInputRelay, RelayStartError } from '../../../app/host/input/relay.js';

function standIn(body: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'baton-relay-')), 'child.cjs');
  writeFileSync(file, `const args = JSON.parse(process.argv[2]);\nconst say = (m) => process.stdout.write(JSON.stringify(m) + '\\n');\n${body}\n`);
  return createInputRelay({ command: process.execPath, args: (json) => [file, json] });
}
const request = { devices: [{ name: 'kbd', path: '/dev/input/by-id/usb-K-event-kbd' }], chord: [29, 97], onChord: () => {}, onLost: () => {} };

describe('input relay (parent side)', () => {
  it('reports the virtual devices, passes on the chord and device loss (even in the ready chunk), and stops by closing stdin', async () => {
    const relay = standIn(`
      process.stdout.write([{ type: 'ready', devices: args.devices.map((d, i) => ({ name: d.name, node: '/dev/input/event' + (40 + i) })) }, { type: 'chord' }, { type: 'lost', name: 'kbd' }].map((m) => JSON.stringify(m) + '\\n').join(''));
      process.stdin.on('data', () => {});
      process.stdin.on('end', () => { say({ type: 'stopped', latency: { frames: 3, p50Us: 80, p99Us: 200, maxUs: 200 } }); process.exit(0); });`);
    const seen: string[] = [];
    let lost!: () => void;
    const gotLost = new Promise<void>((resolve) => (lost = resolve));
    const handle = await relay.start({ ...request, onChord: () => seen.push('chord'), onLost: (name) => { seen.push(`lost ${name}`); lost(); } });
    expect(handle.devices).toEqual([{ name: 'kbd', node: '/dev/input/event40' }]);
    await gotLost;
    expect(seen).toEqual(['chord', 'lost kbd']);
    expect(await handle.stop()).toEqual({ frames: 3, p50Us: 80, p99Us: 200, maxUs: 200 });
    expect(await handle.exited).toEqual({ code: 0, signal: null });
  });

  it('fails the start with the child\'s own error', async () => {
    const relay = standIn(`say({ type: 'error', message: 'EVIOCGRAB: EBUSY (device or resource busy)' }); process.exit(1);`);
    await expect(relay.start(request)).rejects.toThrow(new RelayStartError('input relay: EVIOCGRAB: EBUSY (device or resource busy)'));
  });

  it('fails the start when the child exits without a word', async () => {
    await expect(standIn('process.exit(3);').start(request)).rejects.toThrow(/exited before it was ready \(code 3\)/);
  });

  it('kills a child that never reports ready, and says so', async () => {
    const relay = standIn('setInterval(() => {}, 1000);');
    await expect(relay.start({ ...request, readyDeadlineMs: 300 })).rejects.toThrow(/did not report ready within 300 ms/);
  });
});

