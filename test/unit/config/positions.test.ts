// Field paths as users read them, and where a path lands in the YAML text.
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatPath, positionOf } from '../../../app/domain/config/positions.js';
import { positionOfText } from './fixture.js';

describe('formatPath', () => {
  it('writes indexes in brackets, plain keys with dots, and quotes the rest', () => {
    expect(formatPath(['vms', 1, 'backend'])).toBe('vms[1].backend');
    expect(formatPath(['monitors', 0, 'ddc', 'inputs', 'win-11'])).toBe('monitors[0].ddc.inputs.win-11');
    expect(formatPath(['monitors', 0, 'ddc', 'inputs', 'my vm'])).toBe('monitors[0].ddc.inputs["my vm"]');
    expect(formatPath([])).toBe('');
  });
});

describe('positionOf', () => {
  const text = 'gpus:\n  - name: a\n    match:\n      address: "01:00"\n    empty:\n';
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });

  it('points at the value, or at the key when asked', () => {
    expect(positionOf(doc, lc, ['gpus', 0, 'match', 'address'])).toEqual(positionOfText(text, '"01:00"'));
    expect(positionOf(doc, lc, ['gpus', 0, 'match', 'address'], 'key')).toEqual(positionOfText(text, 'address'));
  });

  it('falls back to the nearest node that exists, and to the key of an empty value', () => {
    expect(positionOf(doc, lc, ['gpus', 0, 'reset'])).toEqual(positionOfText(text, 'name: a'));
    expect(positionOf(doc, lc, ['gpus', 0, 'empty'])).toEqual(positionOfText(text, 'empty'));
    expect(positionOf(doc, lc, ['vms', 3])).toEqual({ line: 1, col: 1 });
  });
});
