// What main accepts from the renderer on each invoke channel (zod; the helper checks again).
import { z } from 'zod';
import { name, owner } from '../protocol/common-schemas.js';
import { deskHistoryQuerySchema } from '../protocol/desk.js';
import type { IpcValidators } from './ipc-main.js';

const nothing = z.union([z.undefined(), z.null()]).transform(() => undefined);
const switchRequest = z.strictObject({ gpu: name, target: owner });

function parser<T>(schema: z.ZodType<T>): (arg: unknown) => T {
  return (arg) => {
    const r = schema.safeParse(arg);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    throw new Error(`${issue?.path.join('.') || '(argument)'}: ${issue?.message ?? 'invalid'}`);
  };
}

export const ipcValidators: IpcValidators = {
  desk: {
    snapshot: parser(nothing),
    switchGpu: parser(switchRequest),
    historyPage: parser(deskHistoryQuerySchema),
    connection: parser(nothing),
  },
  desktop: {
    shortcuts: parser(nothing),
    trayHost: parser(nothing),
  },
};
