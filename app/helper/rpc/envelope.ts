// The JSON-RPC 2.0 request envelope the helper accepts: one request per line, no batches.
import { createJSONRPCErrorResponse, type JSONRPCErrorResponse, type JSONRPCID, type JSONRPCRequest } from 'json-rpc-2.0';
import { z } from 'zod';
import { RpcErrorCode } from '../../protocol/rpc-errors.js';
import { describeIssues } from './issues.js';

const requestId = z.union([z.string().max(128), z.number().finite(), z.null()]);

// Params by name are passed on as parsed, not copied: z.record copies into a null-prototype object
// and leaves a "__proto__" key out, which the method's strict schema must see to refuse it.
const namedParams = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { message: 'expected an object of named params' });

const envelopeSchema = z.strictObject({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(64),
  params: z.union([namedParams, z.array(z.unknown())]).optional(),
  id: requestId.optional(),
});

export type ParsedLine = { ok: true; request: JSONRPCRequest } | { ok: false; response: JSONRPCErrorResponse };

/** A line from a client → the request in it, or the error answer to send back. */
export function parseRequestLine(text: string): ParsedLine {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (err) {
    return { ok: false, response: createJSONRPCErrorResponse(null, RpcErrorCode.ParseError, `not JSON: ${(err as Error).message}`) };
  }
  if (Array.isArray(message)) {
    return { ok: false, response: createJSONRPCErrorResponse(null, RpcErrorCode.InvalidRequest, 'batches are not supported; send one request per line') };
  }
  const parsed = envelopeSchema.safeParse(message);
  if (!parsed.success) {
    const rawId = (message as { id?: unknown } | null)?.id;
    const id: JSONRPCID = requestId.safeParse(rawId).success ? (rawId as JSONRPCID) : null;
    const detail = describeIssues(parsed.error, 'request');
    return { ok: false, response: createJSONRPCErrorResponse(id, RpcErrorCode.InvalidRequest, `not a JSON-RPC 2.0 request: ${detail}`) };
  }
  return { ok: true, request: parsed.data as JSONRPCRequest };
}
