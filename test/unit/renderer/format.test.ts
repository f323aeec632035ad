import { describe, expect, it } from 'vitest';
import { formatAgo, formatDuration, formatMode, formatRate, formatTime, ownerLabel } from '../../../renderer/src/lib/format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'], [840.4, '840 ms'], [999, '999 ms'], [1000, '1.0 s'], [1299, '1.2 s'], [9999, '9.9 s'], [12_500, '12 s'],
    [59_999, '59 s'], [60_000, '1 min 00 s'], [125_000, '2 min 05 s'], [3_600_000, '1 h 00 min'], [3_725_000, '1 h 02 min'],
    [-1500, '-1.5 s'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
  it('says nothing is known for null, undefined and NaN', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('formatTime', () => {
  it('prints an ISO time as date and 24 h clock in the given zone', () => {
    expect(formatTime('2026-12-01T20:51:07.123Z', 'UTC')).toBe('2026-12-01 20:51:07');
    expect(formatTime('2026-12-01T23:30:00Z', 'Europe/Berlin')).toBe('2026-12-02 00:30:00');
  });
  it('passes text that is not a time through unchanged', () => expect(formatTime('yesterday', 'UTC')).toBe('yesterday'));
});

describe('formatAgo', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it.each([
    ['2026-12-01T11:59:55Z', 'just now'], ['2026-12-01T11:59:30Z', '30 s ago'], ['2026-12-01T11:57:00Z', '3 min ago'],
    ['2026-12-01T07:00:00Z', '5 h ago'], ['2026-11-28T12:00:00Z', '3 d ago'], ['2026-12-01T12:00:30Z', 'just now'],
  ])('%s is %s', (iso, text) => expect(formatAgo(iso, now)).toBe(text));
  it('never seen', () => expect(formatAgo(undefined, now)).toBe('never'));
});

describe('formatRate, ownerLabel, formatMode', () => {
  it('rates as one-decimal percentages', () => {
    expect(formatRate(0.9876)).toBe('98.8 %');
    expect(formatRate(1)).toBe('100.0 %');
    expect(formatRate(null)).toBe('—');
  });
  it('names host and park for people, VMs as they are', () => {
    expect(ownerLabel('host')).toBe('Host');
    expect(ownerLabel('park')).toBe('Parked (no one)');
    expect(ownerLabel('win11')).toBe('win11');
  });
  it('modes', () => {
    expect(formatMode({ width: 2560, height: 1440, refreshHz: 59.95 })).toBe('2560×1440 @ 60 Hz');
    expect(formatMode({ width: 1920, height: 1080 })).toBe('1920×1080');
    expect(formatMode(null)).toBe('unknown mode');
  });
});
