// QMP wire messages (docs/interop/qmp-spec.rst), validated: the peer is untrusted input.
import { z } from 'zod';

const greetingSchema = z.object({
  QMP: z.object({
    version: z.object({
      qemu: z.object({ major: z.number().int(), minor: z.number().int(), micro: z.number().int() }),
      package: z.string(),
    }),
    capabilities: z.array(z.string()),
  }),
});

const idSchema = z.union([z.string(), z.number()]).optional();

const successSchema = z.object({ return: z.unknown(), id: idSchema });

const errorSchema = z.object({
  error: z.object({ class: z.string(), desc: z.string() }),
  id: idSchema,
});

const eventSchema = z.object({
  event: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.object({ seconds: z.number(), microseconds: z.number() }),
});

export type QmpGreeting = z.infer<typeof greetingSchema>['QMP'];
export type QmpRequestId = string | number;

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

export type QmpMessage =
  | { type: 'greeting'; greeting: QmpGreeting }
  | { type: 'return'; id: QmpRequestId | undefined; value: unknown }
  | { type: 'error'; id: QmpRequestId | undefined; errorClass: string; description: string }
  | { type: 'event'; event: QmpEvent }
  /** Not QMP: `id` is set when the line still named a request, so that request can fail at once. */
  | { type: 'invalid'; reason: string; id: QmpRequestId | undefined };

export function parseQmpMessage(line: string): QmpMessage {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { type: 'invalid', reason: `not JSON: ${preview(line)}`, id: undefined };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { type: 'invalid', reason: `not a JSON object: ${preview(line)}`, id: undefined };
  }
  const keys = json as Record<string, unknown>;
  if ('QMP' in keys) {
    const parsed = greetingSchema.safeParse(json);
    return parsed.success ? { type: 'greeting', greeting: parsed.data.QMP } : invalid('greeting', line, json);
  }
  if ('return' in keys) {
    const parsed = successSchema.safeParse(json);
    return parsed.success ? { type: 'return', id: parsed.data.id, value: parsed.data.return } : invalid('return', line, json);
  }
  if ('error' in keys) {
    const parsed = errorSchema.safeParse(json);
    return parsed.success
      ? { type: 'error', id: parsed.data.id, errorClass: parsed.data.error.class, description: parsed.data.error.desc }
      : invalid('error', line, json);
  }
  if ('event' in keys) {
    const parsed = eventSchema.safeParse(json);
    return parsed.success
      ? { type: 'event', event: { event: parsed.data.event, data: parsed.data.data ?? {}, timestamp: parsed.data.timestamp } }
      : invalid('event', line, json);
  }
  return invalid('message', line, json);
}

function invalid(kind: string, line: string, json: object): QmpMessage {
  const id = (json as { id?: unknown }).id;
  return {
    type: 'invalid',
    reason: `malformed QMP ${kind}: ${preview(line)}`,
    id: typeof id === 'string' || typeof id === 'number' ? id : undefined,
  };
}

function preview(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}… (${line.length} chars)` : line;
}
