import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aspectOf, layoutDesk, type MonitorShape } from '../../../renderer/src/lib/desk-geometry';
import { ownerColorVar } from '../../../renderer/src/lib/owner-colors';

describe('layoutDesk', () => {
  it('draws each monitor at its preferred mode aspect, same height, grouped by GPU in the given order', () => {
    const monitors: MonitorShape[] = [
      { id: 'right', gpu: 'gpu-b', width: 2560, height: 1080 },
      { id: 'left', gpu: 'gpu-a', width: 1920, height: 1080 },
      { id: 'portrait', gpu: 'gpu-a', width: 1080, height: 1920 },
    ];
    const layout = layoutDesk(monitors, ['gpu-a', 'gpu-b'], { monitorHeight: 100, gap: 10, groupGap: 30, padding: 5, labelHeight: 20 });
    expect(layout.monitors.map((m) => m.id)).toEqual(['left', 'portrait', 'right']);
    const [left, portrait, right] = layout.monitors;
    expect(left).toMatchObject({ x: 5, y: 5, h: 100, assumedAspect: false });
    expect(left!.w).toBeCloseTo(177.78, 1);
    expect(portrait!.w).toBeCloseTo(56.25, 2);
    expect(portrait!.x).toBeCloseTo(5 + 177.78 + 10, 1);
    expect(right!.w).toBeCloseTo(237.04, 1);
    expect(right!.x).toBeCloseTo(portrait!.x + portrait!.w + 30, 5);
    expect(layout.gpus).toEqual([
      { gpu: 'gpu-a', x: 5, w: expect.closeTo(177.78 + 10 + 56.25, 1) },
      { gpu: 'gpu-b', x: expect.closeTo(right!.x, 5), w: expect.closeTo(237.04, 1) },
    ]);
    expect(layout.width).toBeCloseTo(right!.x + right!.w + 5, 5);
    expect(layout.height).toBe(5 + 100 + 20 + 5);
  });

  it('keeps a place for a GPU without monitors and for a GPU not in the order', () => {
    const layout = layoutDesk([{ id: 'm', gpu: 'gpu-x', width: 1920, height: 1080 }], ['gpu-a'], { monitorHeight: 90 });
    expect(layout.gpus.map((g) => g.gpu)).toEqual(['gpu-a', 'gpu-x']);
    expect(layout.gpus[0]!.w).toBeCloseTo(160, 5);
  });

  it('assumes 16:9 for an unknown mode and clamps absurd EDIDs', () => {
    expect(aspectOf({ id: 'a', gpu: 'g' })).toEqual({ aspect: 16 / 9, assumed: true });
    expect(aspectOf({ id: 'a', gpu: 'g', width: 0, height: 1080 })).toEqual({ aspect: 16 / 9, assumed: true });
    expect(aspectOf({ id: 'a', gpu: 'g', width: 100_000, height: 1 }).aspect).toBe(4);
    expect(aspectOf({ id: 'a', gpu: 'g', width: 1, height: 100_000 }).aspect).toBe(0.4);
  });

  it('never overlaps two monitors and keeps every one inside the picture, whatever the modes', () => {
    const monitor = fc.record({
      gpu: fc.constantFrom('gpu-a', 'gpu-b', 'gpu-c'),
      width: fc.option(fc.integer({ min: -10, max: 20_000 })),
      height: fc.option(fc.integer({ min: -10, max: 20_000 })),
    });
    fc.assert(fc.property(fc.array(monitor, { maxLength: 20 }), (ms) => {
      const shapes = ms.map((m, i) => ({ ...m, id: `m${i}` }));
      const layout = layoutDesk(shapes, ['gpu-b']);
      expect(layout.monitors).toHaveLength(shapes.length);
      const sorted = [...layout.monitors].sort((a, b) => a.x - b.x);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.x).toBeGreaterThanOrEqual(sorted[i - 1]!.x + sorted[i - 1]!.w);
      for (const r of layout.monitors) {
        expect(r.x).toBeGreaterThanOrEqual(0);
        expect(r.x + r.w).toBeLessThanOrEqual(layout.width);
        expect(r.y + r.h).toBeLessThanOrEqual(layout.height);
        const span = layout.gpus.find((g) => g.gpu === r.gpu)!;
        expect(r.x).toBeGreaterThanOrEqual(span.x);
        expect(r.x + r.w).toBeLessThanOrEqual(span.x + span.w + 1e-9);
      }
    }));
  });
});

describe('ownerColorVar', () => {
  it('gives host and park their own colour and each VM its slot in config order', () => {
    const vms = ['win11', 'linux-dev', 'vm-xen'];
    expect(ownerColorVar('host', vms)).toBe('--owner-host');
    expect(ownerColorVar('park', vms)).toBe('--owner-park');
    expect(ownerColorVar('win11', vms)).toBe('--owner-0');
    expect(ownerColorVar('vm-xen', vms)).toBe('--owner-2');
    expect(ownerColorVar('vm9', Array.from({ length: 10 }, (_, i) => `vm${i}`))).toBe('--owner-1');
  });
  it('gives an unlisted VM the same slot every time', () => {
    expect(ownerColorVar('gone', [])).toBe(ownerColorVar('gone', ['other']));
    expect(ownerColorVar('gone', [])).toMatch(/^--owner-[0-7]$/);
  });
});

describe('fitLabel', () => {
  it('keeps a name that fits, drops the parenthetical of one that does not, else cuts it', async () => {
    const { fitLabel } = await import('../../../renderer/src/features/desk/DeskPicture');
    expect(fitLabel('Left', 10)).toBe('Left');
    expect(fitLabel('Left (QEMU Monitor 1920x1080)', 16)).toBe('Left');
    expect(fitLabel('A very long monitor name', 10)).toBe('A very lo…');
    expect(fitLabel('Left', 3)).toBe('');
  });
});
