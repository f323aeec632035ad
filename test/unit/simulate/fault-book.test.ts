// Faults hit only the calls they name, as many times as asked, and can be listed and cleared.
import { expect, it } from 'vitest';
import { VmCommandFailedError } from '../../../app/domain/vm/errors.js';
import { A, B, POLICY, simulate } from './fixture.js';

it('a fault hits once by default, then the operation works again', async () => {
  const sim = simulate();
  sim.injectFault({ operation: 'pause', kind: 'error' });
  await expect(sim.backendFor('win11').pause('win11')).rejects.toBeInstanceOf(VmCommandFailedError);
  await expect(sim.backendFor('win11').pause('win11')).resolves.toBeUndefined();
  expect(sim.faults()).toEqual([]);
});

it('times: n hits n calls', async () => {
  const sim = simulate();
  sim.injectFault({ operation: 'state', kind: 'error', times: 2 });
  const backend = sim.backendFor('win11');
  const outcomes = await Promise.allSettled([backend.state('win11'), backend.state('win11'), backend.state('win11')]);
  expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
});

it('a fault for one VM leaves the others alone', async () => {
  const sim = simulate();
  sim.injectFault({ operation: 'pause', kind: 'error', vm: 'linux-dev' });
  await expect(sim.backendFor('win11').pause('win11')).resolves.toBeUndefined();
  await expect(sim.backendFor('linux-dev').pause('linux-dev')).rejects.toBeInstanceOf(VmCommandFailedError);
});

it('a fault for one GPU leaves the other alone', async () => {
  const sim = simulate();
  sim.injectFault({ operation: 'claim', kind: 'error', gpu: B });
  await expect(sim.host.claim(A, POLICY)).resolves.toBeUndefined();
  await expect(sim.host.claim(B, POLICY)).rejects.toThrow(/move 0000:02:00.1 .* failed/);
});

it('faults are listed with their hits and can be cleared one by one or all', () => {
  const sim = simulate();
  const first = sim.injectFault({ operation: 'attach', kind: 'hang', times: Infinity });
  sim.injectFault({ operation: 'release', kind: 'timeout' });
  expect(sim.faults().map((f) => [f.operation, f.kind, f.times, f.hits])).toEqual([['attach', 'hang', Infinity, 0], ['release', 'timeout', 1, 0]]);
  expect(JSON.parse(JSON.stringify(sim.snapshot())).faults[0]).toMatchObject({ operation: 'attach', times: null });
  sim.clearFaults(first.id);
  expect(sim.faults().map((f) => f.operation)).toEqual(['release']);
  sim.clearFaults();
  expect(sim.snapshot().faults).toEqual([]);
});

it('refuses a fault that can never hit', () => {
  expect(() => simulate().injectFault({ operation: 'claim', kind: 'error', times: 0 })).toThrow(RangeError);
});
