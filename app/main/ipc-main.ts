// Main's side of the IPC schema: one handler per invoke entry and one notifier per notify entry,
// generated from app/protocol/ipc-schema.ts. Every call is checked before its handler runs: the
// sender must be the app's own main frame (VS Code's validatedIpcMain: a frame of our origin with
// no parent), and its argument must pass the entry's validator.
import { ipcChannel, ipcSchema, type Invoke, type IpcResult, type IpcSchema, type Notify, type PayloadOf, type RequestOf, type ResponseOf } from '../protocol/ipc-schema.js';

/** The parts of Electron's WebFrameMain the check reads. */
export interface SenderFrame {
  readonly url: string;
  readonly parent: unknown;
}

export interface IpcMainPort {
  handle(channel: string, listener: (senderFrame: SenderFrame | null, arg: unknown) => Promise<unknown>): void;
}

/** Where notifications go (the window's webContents); null while there is no window. */
export interface RendererTarget {
  send(channel: string, payload: unknown): void;
}

type InvokeKeys<G extends keyof IpcSchema> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends Invoke<unknown, unknown> ? K : never }[keyof IpcSchema[G]];
type NotifyKeys<G extends keyof IpcSchema> = { [K in keyof IpcSchema[G]]: IpcSchema[G][K] extends Notify<unknown> ? K : never }[keyof IpcSchema[G]];

export type IpcHandlers = { [G in keyof IpcSchema]: { [K in InvokeKeys<G>]: (request: RequestOf<IpcSchema[G][K]>) => Promise<ResponseOf<IpcSchema[G][K]>> } };
/** Per invoke entry: turns what the renderer sent into the request, or throws naming what is wrong. */
export type IpcValidators = { [G in keyof IpcSchema]: { [K in InvokeKeys<G>]: (arg: unknown) => RequestOf<IpcSchema[G][K]> } };
export type IpcNotifiers = { [G in keyof IpcSchema]: { [K in NotifyKeys<G>]: (payload: PayloadOf<IpcSchema[G][K]>) => void } };

/** The origin the renderer is served from (app/main/app-protocol.ts). */
export const APP_ORIGIN = { scheme: 'baton', host: 'app' } as const;

/** Why a sender is refused, or null when it is the app's own main frame. */
export function senderRefusal(frame: SenderFrame | null, origin = APP_ORIGIN): string | null {
  if (!frame) return 'no sender frame (it was destroyed or navigated away)';
  if (frame.parent !== null) return `a subframe (${frame.url}) may not use the app's IPC`;
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return `sender URL ${JSON.stringify(frame.url)} does not parse`;
  }
  if (url.protocol !== `${origin.scheme}:` || url.host !== origin.host) return `sender ${url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin} is not ${origin.scheme}://${origin.host}`;
  return null;
}

export interface IpcMainOptions {
  port: IpcMainPort;
  handlers: IpcHandlers;
  validators: IpcValidators;
  log: (line: string) => void;
}

export function registerIpcMain({ port, handlers, validators, log }: IpcMainOptions): string[] {
  const channels: string[] = [];
  for (const [group, entries] of Object.entries(ipcSchema)) {
    for (const [key, entry] of Object.entries(entries as Record<string, { kind: string }>)) {
      if (entry.kind !== 'invoke') continue;
      const channel = ipcChannel(group, key);
      const handler = (handlers as unknown as Record<string, Record<string, (r: unknown) => Promise<unknown>>>)[group]?.[key];
      const validate = (validators as unknown as Record<string, Record<string, (a: unknown) => unknown>>)[group]?.[key];
      if (!handler || !validate) throw new Error(`no handler or validator for IPC channel ${channel}`);
      port.handle(channel, async (frame, arg): Promise<IpcResult<unknown>> => {
        const refusal = senderRefusal(frame);
        if (refusal) {
          log(`ipc: refused ${channel}: ${refusal}`);
          return { type: 'error', message: `refused: ${refusal}` };
        }
        let request: unknown;
        try {
          request = validate(arg);
        } catch (err) {
          return { type: 'error', message: `invalid request on ${channel}: ${(err as Error).message}` };
        }
        try {
          return { type: 'success', value: await handler(request) };
        } catch (err) {
          const e = err as Error & { code?: unknown };
          return { type: 'error', message: e.message, ...(typeof e.code === 'number' && { code: e.code }) };
        }
      });
      channels.push(channel);
    }
  }
  return channels;
}

export function createNotifiers(target: () => RendererTarget | null): IpcNotifiers {
  const out: Record<string, Record<string, (payload: unknown) => void>> = {};
  for (const [group, entries] of Object.entries(ipcSchema)) {
    out[group] = {};
    for (const [key, entry] of Object.entries(entries as Record<string, { kind: string }>)) {
      if (entry.kind !== 'notify') continue;
      const channel = ipcChannel(group, key);
      out[group][key] = (payload) => target()?.send(channel, payload);
    }
  }
  return out as unknown as IpcNotifiers;
}
