import { describe, expect, it } from 'vitest';
import { profileTimes, summariseProfile, type CpuProfile } from '../../../bench/lib/cpu-profile.js';

// root → main → (scan → readlinkSync), idle beside it.
const frame = (functionName: string, lineNumber = 0) => ({ functionName, url: functionName.startsWith('(') ? '' : 'file:///repo/dist/bundle/baton.js', lineNumber });
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5] },
    { id: 2, callFrame: frame('main', 9), children: [3] },
    { id: 3, callFrame: frame('scan', 19), children: [4] },
    { id: 4, callFrame: frame('readlinkSync', 29) },
    { id: 5, callFrame: frame('(idle)') },
  ],
  // Samples at 100, 1100, 3100, 6100, 10100, 15100 µs; the profile ends at 21100.
  samples: [2, 3, 4, 4, 5, 5],
  timeDeltas: [100, 1000, 2000, 3000, 4000, 5000],
  startTime: 0,
  endTime: 21_100,
};

describe('the CPU profile summary', () => {
  it('charges each sample to its function and to every caller once, leaving idle out', () => {
    const t = profileTimes(profile);
    expect(t.idleUs).toBe(11_000);
    expect(t.busyUs).toBe(1000 + 2000 + 3000 + 4000);
    expect(t.self.get('readlinkSync bundle/baton.js:30')).toBe(7000);
    expect(t.self.get('scan bundle/baton.js:20')).toBe(2000);
    expect(t.total.get('scan bundle/baton.js:20')).toBe(9000);
    expect(t.total.get('main bundle/baton.js:10')).toBe(10_000);
    expect(t.total.has('(root)')).toBe(false);
  });

  it('prints the busiest function first', () => {
    const text = summariseProfile(profile, 2);
    expect(text).toMatch(/^busy 10\.0 ms, idle 11\.0 ms/);
    const selfRows = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| function') && !l.startsWith('| ---'));
    expect(selfRows[0]).toContain('readlinkSync');
    expect(selfRows[0]).toContain('70.0 %');
  });
});
