// The protocol schemas accept what the service produces and refuse what a client must not send.
import { describe, expect, it } from 'vitest';
import {
  helperMethods,
  historyParamsSchema,
  historyResultSchema,
  isMethodName,
  serviceEventSchema,
  statusSchema,
  switchParamsSchema,
} from '../../../app/protocol/helper-protocol.js';

describe('helper protocol schemas', () => {
  it('accepts a status with extra fields and keeps the documented shape', () => {
    const status = statusSchema.parse({
      gpus: [{ name: 'gpu0', address: '0000:01:00.0', owner: 'win', functions: ['0000:01:00.0'], busy: false }],
      vms: [{ name: 'win', backend: 'qmp', state: 'running', raw: 'running' }],
      disagreements: [],
    });
    expect(status.gpus[0]).toMatchObject({ name: 'gpu0', address: '0000:01:00.0', owner: 'win' });
    expect(status.vms[0]).toMatchObject({ name: 'win', state: 'running' });
  });

  it('refuses a non-canonical PCI address in a status', () => {
    const bad = { gpus: [{ name: 'g', address: '01:00.0', owner: 'host', functions: [], busy: false }], vms: [], disagreements: [] };
    expect(statusSchema.safeParse(bad).success).toBe(false);
  });

  it('switch params: strict, bounded names, known requesters only', () => {
    expect(switchParamsSchema.safeParse({ gpu: 'gpu0', target: 'win', requestedBy: 'cli' }).success).toBe(true);
    expect(switchParamsSchema.safeParse({ gpu: 'gpu0', target: 'win', requestedBy: 'cli', force: true }).success).toBe(false);
    expect(switchParamsSchema.safeParse({ gpu: 'g'.repeat(129), target: 'win', requestedBy: 'cli' }).success).toBe(false);
    expect(switchParamsSchema.safeParse({ gpu: '', target: 'win', requestedBy: 'cli' }).success).toBe(false);
    expect(switchParamsSchema.safeParse({ gpu: 'gpu0', target: 'win', requestedBy: 'someone' }).success).toBe(false);
  });

  it('history params: optional, with a bounded page size', () => {
    expect(historyParamsSchema.safeParse(undefined).success).toBe(true);
    expect(historyParamsSchema.safeParse({ limit: 20, gpu: 'gpu0', outcome: 'failed' }).success).toBe(true);
    expect(historyParamsSchema.safeParse({ limit: 0 }).success).toBe(false);
    expect(historyParamsSchema.safeParse({ limit: 1e9 }).success).toBe(false);
  });

  it('history entries keep fields beyond the client shape (endedAt, error)', () => {
    const entry = { gpu: 'g', from: 'host', to: 'win', requestedBy: 'cli', outcome: 'failed', startedAt: 't', endedAt: 'u', error: 'boom', steps: [] };
    expect(historyResultSchema.parse({ entries: [entry], total: 1 }).entries[0]).toMatchObject({ endedAt: 'u', error: 'boom' });
  });

  it('methods without params accept nothing, {} or [] and refuse anything else', () => {
    for (const ok of [undefined, {}, []]) expect(helperMethods.status.params.safeParse(ok).success).toBe(true);
    for (const bad of [{ a: 1 }, [1], 'x']) expect(helperMethods.status.params.safeParse(bad).success).toBe(false);
  });

  it('events: every kind the service sends, nothing else', () => {
    expect(serviceEventSchema.safeParse({ kind: 'step-ended', switchId: 's', step: 'claim', outcome: 'ok', ms: 3 }).success).toBe(true);
    expect(serviceEventSchema.safeParse({ kind: 'request-coalesced', gpu: 'g', replacedTarget: 'win', target: 'host' }).success).toBe(true);
    expect(serviceEventSchema.safeParse({ kind: 'step-ended', switchId: 's', step: 'format-disk', outcome: 'ok', ms: 3 }).success).toBe(false);
    expect(serviceEventSchema.safeParse({ kind: 'other' }).success).toBe(false);
  });

  it('knows its method names without taking inherited properties for methods', () => {
    expect(isMethodName('switch')).toBe(true);
    expect(isMethodName('toString')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
  });
});
