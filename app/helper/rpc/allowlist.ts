// The RPC layer's allowlist: a request may name only GPUs and VMs the config names. The engine
// checks again; refusing here first gives the client a clear error before anything moves.
import { JSONRPCErrorException } from 'json-rpc-2.0';
import { findGpu, resolveTarget, targetNames, type BatonConfig, type GpuConfig } from '../../domain/config/index.js';
import { RpcErrorCode } from '../../protocol/rpc-errors.js';

function unknown(message: string): JSONRPCErrorException {
  return new JSONRPCErrorException(message, RpcErrorCode.UnknownName);
}

function listOr(names: string[], none: string): string {
  return names.length ? names.join(', ') : none;
}

/** The configured GPU named by `text` (its name or PCI address). */
export function allowedGpu(config: BatonConfig, text: string): GpuConfig {
  const gpu = findGpu(config, text);
  if (!gpu) {
    throw unknown(`unknown GPU ${JSON.stringify(text)}: the config names ${listOr(config.gpus.map((g) => g.name), 'no GPUs')} (by name or PCI address)`);
  }
  return gpu;
}

/** "host", "park" or a configured VM. */
export function allowedTarget(config: BatonConfig, text: string): string {
  if (!resolveTarget(config, text)) {
    throw unknown(`unknown target ${JSON.stringify(text)}: expected one of ${targetNames(config).join(', ')}`);
  }
  return text;
}
