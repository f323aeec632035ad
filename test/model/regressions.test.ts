// Scenarios the model run found, kept as they were printed (fast-check counterexamples), so they run
// every time whatever the seed. Each names what it caught.
import { describe, expect, it } from 'vitest';
import { runScenario, type Scenario } from './model.js';

const cases: { name: string; scenario: Scenario }[] = [
  {
    // seed 606661446 path 102: the same move asked twice while waiting, then replaced: two askers of
    // one superseded id folded into the winner (the check now counts entries, not askers).
    name: 'a waiting move asked twice, then superseded, is folded into exactly one entry',
    scenario: { commands: [{ kind: 'unresponsive', vm: 'linux-dev', times: 2 }, { kind: 'switch', gpu: 'gpu-b', target: 'linux-dev', requestedBy: 'shortcut', uid: 1001 }, { kind: 'release-hangs', outcome: 'proceed' }, { kind: 'switch', gpu: 'gpu-b', target: 'win11', requestedBy: 'browser', uid: 1000 }, { kind: 'wait', ms: 2 }, { kind: 'host-fault', operation: 'release', gpu: 'gpu-b', fault: 'timeout', times: 1 }, { kind: 'switch', gpu: 'gpu-b', target: 'win11', requestedBy: 'tray', uid: 1000 }, { kind: 'switch', gpu: 'gpu-a', target: 'host', requestedBy: 'browser', uid: 1001 }, { kind: 'release-hangs', outcome: 'fail' }, { kind: 'switch', gpu: 'gpu-b', target: 'vm-xen', requestedBy: 'tray', uid: 1000 }, { kind: 'vm-fault', operation: 'state', vm: 'vm-xen', fault: 'timeout', times: 1 }, { kind: 'host-fault', operation: 'romFile', gpu: 'gpu-a', fault: 'hang', times: 1 }, { kind: 'host-fault', operation: 'reset', gpu: 'any', fault: 'wedged', times: 2 }], landSeed: 21, end: 'fail' },
  },
  {
    // seed 252603717 path 37: a kill armed for start-up that the start-up did not reach must not
    // kill the helper later, mid-switch (the model disarms it once the helper is up).
    name: 'a kill armed for start-up, then a switch',
    scenario: { commands: [{ kind: 'wait', ms: 10 }, { kind: 'unwedge' }, { kind: 'kill', after: 2, duringStart: 30, inFlight: 'fail' }, { kind: 'switch', gpu: 'gpu-a', target: 'win11', requestedBy: 'browser', uid: 1001 }], landSeed: 1666953745, end: 'proceed' },
  },
  {
    // Written to check the model's power: fails when the engine stops watching a call past its
    // deadline (the late detach lands and the registry still says win11).
    name: 'a detach that hangs past its deadline, then completes',
    scenario: { commands: [{ kind: 'switch', gpu: 'gpu-a', target: 'win11', requestedBy: 'cli', uid: 1001 }, { kind: 'wait', ms: 40 }, { kind: 'step-fault', step: 'release', fault: 'hang' }, { kind: 'switch', gpu: 'gpu-a', target: 'linux-dev', requestedBy: 'cli', uid: 1001 }, { kind: 'wait', ms: 40 }], landSeed: 5, end: 'proceed' },
  },
  {
    // Fails when observe takes a VM that does not answer for one that holds nothing (the GPU is
    // recorded parked while win11 has it).
    name: 'a switch away from a VM that stops answering',
    scenario: { commands: [{ kind: 'switch', gpu: 'gpu-a', target: 'win11', requestedBy: 'cli', uid: 1001 }, { kind: 'wait', ms: 150 }, { kind: 'unresponsive', vm: 'win11', times: 8 }, { kind: 'switch', gpu: 'gpu-a', target: 'host', requestedBy: 'cli', uid: 1001 }, { kind: 'wait', ms: 150 }], landSeed: 5, end: 'proceed' },
  },
  {
    // seed 713333278 path 146: a claim given up past the grace, the helper killed, a VM that does
    // not answer at the restart: recovery records the GPU lost with what it saw, and the reason
    // must not still say the call "has not returned" (that call died with the old helper).
    name: 'a restart while a given-up claim is out and a VM does not answer',
    scenario: { commands: [{ kind: 'unresponsive', vm: 'win11', times: 3 }, { kind: 'wait', ms: 150 }, { kind: 'release-hangs', outcome: 'fail' }, { kind: 'step-fault', step: 'claim', fault: 'hang' }, { kind: 'switch', gpu: 'gpu-a', target: 'vm-xen', requestedBy: 'cli', uid: 1001 }, { kind: 'release-hangs', outcome: 'proceed' }, { kind: 'release-hangs', outcome: 'proceed' }, { kind: 'host-fault', operation: 'romFile', gpu: 'any', fault: 'wedged', times: 2 }, { kind: 'release-hangs', outcome: 'fail' }, { kind: 'kill', after: 38, duringStart: null, inFlight: 'proceed' }], landSeed: 3, end: 'proceed' },
  },
];

describe('model regressions', () => {
  it.each(cases)('$name', async ({ scenario }) => {
    const report = await runScenario(scenario);
    expect(report.violations).toEqual([]);
  }, 60_000);
});
