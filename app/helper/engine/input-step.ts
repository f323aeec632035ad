// The "move input" step (issue 12): the keyboard and mouse that follow a GPU go where the GPU goes.
// Its undo gives them back to where they were (the source VM, or the host).
import type { InputPort } from '../../domain/input/port.js';
import type { PlannedStep } from '../../domain/switch/plan.js';
import type { BackendFor } from '../../domain/switch/ports.js';
import type { UndoStack } from '../../domain/undo-stack.js';
import { StepSkipped } from './step-runner.js';

export async function runMoveInput(step: Extract<PlannedStep, { name: 'move-input' }>, gpu: string, inputs: InputPort | undefined, backendFor: BackendFor, undo: Pick<UndoStack, 'push'>): Promise<void> {
  if (!inputs) throw new StepSkipped('inputs follow this GPU, but this helper has no input relay');
  // Xen has no evdev input: the GPU moves, the keyboard and mouse stay with the host, and the history says why.
  const target = step.to ? backendFor(step.to) : null;
  if (step.to && target && !target.inputs) {
    throw new StepSkipped(`${step.to} runs on ${target.hypervisor}, which cannot take an evdev input: the keyboard and mouse stay with the host (move a USB controller with the GPU instead)`);
  }
  // Back to where they really are (a Xen source VM never had them).
  const back = inputs.holder(gpu);
  undo.push(back ? `give the keyboard and mouse back to ${back}` : 'give the keyboard and mouse back to the host', () => inputs.follow(gpu, back));
  await inputs.follow(gpu, step.to);
}
