// The preload's side of the IPC schema: a caller per invoke entry and a listener per notify entry,
// generated from app/protocol/ipc-schema.ts. Runs in the sandboxed preload (no Node): plain code.
import { ipcChannel, ipcSchema, type Invoke, type IpcResult, type IpcSchema, type Notify, type PayloadOf, type RequestOf, type ResponseOf } from '../../protocol/ipc-schema.js';

/** The two things the preload does with Electron's ipcRenderer; the listener never sees the event object. */
export interface IpcRendererPort {
  invoke(channel: string, arg: unknown): Promise<unknown>;
  on(channel: string, listener: (payload: unknown) => void): () => void;
}

type InvokeKeys<G extends keyof IpcSchema> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends Invoke<unknown, unknown> ? K : never }[keyof IpcSchema[G]];
type NotifyKeys<G extends keyof IpcSchema> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends Notify<unknown> ? K : never }[keyof IpcSchema[G]];

export type IpcCallers = { [G in keyof IpcSchema]: { [K in InvokeKeys<G>]: (request: RequestOf<IpcSchema[G][K]>) => Promise<ResponseOf<IpcSchema[G][K]>> } };
export type IpcListeners = { [G in keyof IpcSchema]: { [K in NotifyKeys<G>]: (listener: (payload: PayloadOf<IpcSchema[G][K]>) => void) => () => void } };

/** An invoke answered with an error: the message main sent, and the helper's JSON-RPC code when it had one. */
export class IpcCallError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'IpcCallError';
  }
}

function unwrap(channel: string, answer: unknown): unknown {
  const result = answer as IpcResult<unknown> | null;
  if (result && result.type === 'success') return result.value;
  if (result && result.type === 'error') throw new IpcCallError(result.message, result.code);
  throw new IpcCallError(`main answered ${channel} with something that is not an IPC result`);
}

export function createIpcRenderer(port: IpcRendererPort): { call: IpcCallers; listen: IpcListeners } {
  const call: Record<string, Record<string, unknown>> = {};
  const listen: Record<string, Record<string, unknown>> = {};
  for (const [group, entries] of Object.entries(ipcSchema)) {
    call[group] = {};
    listen[group] = {};
    for (const [key, entry] of Object.entries(entries as Record<string, { kind: string }>)) {
      const channel = ipcChannel(group, key);
      if (entry.kind === 'invoke') call[group][key] = async (request: unknown) => unwrap(channel, await port.invoke(channel, request));
      else listen[group][key] = (listener: (payload: unknown) => void) => port.on(channel, listener);
    }
  }
  return { call: call as unknown as IpcCallers, listen: listen as unknown as IpcListeners };
}
