// The "move input" step (issue 12): the keyboard and mouse that follow a GPU go where the GPU goes.
// Its undo gives them back to where they were (the source VM, or the host).
import type { InputPort } from '../../domain/input/port.js';
import type { PlannedStep } from '../../domain/switch/plan.js';
import type { UndoStack } from '../../domain/undo-stack.js';
import { StepSkipped } from './step-runner.js';

export async function runMoveInput(step: Extract<PlannedStep, { name: 'move-input' }>, gpu: string, inputs: InputPort | undefined, undo: Pick<UndoStack, 'push'>): Promise<void> {
  if (!inputs) throw new StepSkipped('inputs follow this GPU, but this helper has no input relay');
  const before = inputs.holder(gpu);
  const back = before ?? step.from;
  undo.push(back ? `give the keyboard and mouse back to ${back}` : 'give the keyboard and mouse back to the host', () => inputs.follow(gpu, back));
  await inputs.follow(gpu, step.to);
}
