// What every backend checks of an attach request before talking to its hypervisor.
import { functionOf, isCanonicalPciAddress, slotOf } from '../pci-address.js';
import type { AttachGpuRequest } from './port.js';

/** Why the request cannot be attached as one GPU, or null when it can. */
export function attachRequestProblem(request: AttachGpuRequest): string | null {
  const [first] = request.functions;
  if (!first) return 'no functions given';
  for (const address of request.functions) if (!isCanonicalPciAddress(address)) return `${address} is not a canonical PCI address`;
  if (functionOf(first) !== 0) return 'function 0 must come first';
  if (request.functions.some((a) => slotOf(a) !== slotOf(first))) return 'functions of more than one slot';
  if (new Set(request.functions).size !== request.functions.length) return 'a function is listed twice';
  return null;
}
