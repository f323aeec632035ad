// The monitors last seen per GPU: kept across restarts in the state folder, written only on a
// change, and a damaged file never stops the helper (it starts empty and says why).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MONITOR_MEMORY_FILE, MonitorMemory, type RememberedMonitor } from '../../../app/helper/desk/monitor-memory.js';

const left = (seenAt: string): RememberedMonitor => ({
  connector: 'card1-DP-1', edidName: 'DELL U2720Q', manufacturerId: 'DEL', productCode: 41350, serial: 'ABC123',
  preferredMode: { width: 3840, height: 2160, refreshHz: 60 }, status: 'connected', seenAt,
});

describe('the monitors last seen', () => {
  it('keeps what was seen while the GPU is away, with the time it was last really seen, across a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-monitors-'));
    const memory = MonitorMemory.open(dir);
    memory.observe('rtx', [left('2026-12-01T10:00:00.000Z')], false);
    memory.observe('rtx', [left('2026-12-01T10:05:00.000Z')], false);
    memory.observe('rtx', [], true); // a VM took the GPU
    expect(memory.lastSeen('rtx')).toEqual([left('2026-12-01T10:05:00.000Z')]);
    const again = MonitorMemory.open(dir);
    expect(again.lastSeen('rtx')).toEqual([left('2026-12-01T10:05:00.000Z')]);
    // Back on the host with no monitor plugged in: that is the truth now.
    again.observe('rtx', [], false);
    expect(MonitorMemory.open(dir).lastSeen('rtx')).toEqual([]);
  });

  it('writes only when what is seen changes, not on every look', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-monitors-'));
    const memory = MonitorMemory.open(dir);
    const file = join(dir, MONITOR_MEMORY_FILE);
    memory.observe('rtx', [left('2026-12-01T10:00:00.000Z')], false);
    expect(existsSync(file)).toBe(true);
    rmSync(file);
    memory.observe('rtx', [left('2026-12-01T10:01:00.000Z')], false); // the same monitor, looked at again
    expect(existsSync(file)).toBe(false);
    memory.observe('rtx', [{ ...left('2026-12-01T10:02:00.000Z'), preferredMode: { width: 2560, height: 1440, refreshHz: 144 } }], false);
    expect(JSON.parse(readFileSync(file, 'utf8')).gpus.rtx[0].preferredMode.width).toBe(2560);
  });

  it('starts empty from a damaged or foreign file and says which and why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-monitors-'));
    const lines: string[] = [];
    writeFileSync(join(dir, MONITOR_MEMORY_FILE), '{"version": 1, "gpus": {"rtx": [{"connector": 5}]}}');
    expect(MonitorMemory.open(dir, (l) => lines.push(l)).lastSeen('rtx')).toEqual([]);
    writeFileSync(join(dir, MONITOR_MEMORY_FILE), 'not json');
    expect(MonitorMemory.open(dir, (l) => lines.push(l)).lastSeen('rtx')).toEqual([]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`ignoring ${join(dir, MONITOR_MEMORY_FILE)}: gpus.rtx.0.connector`);
  });
});
