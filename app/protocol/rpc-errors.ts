// JSON-RPC error codes the helper answers with: the standard ones, and Baton's own (-32000..-32099,
// the range JSON-RPC leaves to servers) so clients can tell "not allowed" from "no such GPU".
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** The connecting uid may not use the helper; the connection is closed after this. */
  NotAuthorized: -32001,
  /** A GPU or VM that the config does not name. */
  UnknownName: -32002,
  /** A line longer than MAX_LINE_BYTES; the connection is closed after this. */
  MessageTooLarge: -32003,
  /**
   * The helper is full: too many requests in flight on one connection (that request only), or too
   * many connections (id null, and the connection is closed after this).
   */
  Busy: -32004,
  /** The service refused or failed the call; the message says why. */
  ServiceError: -32005,
  /** Idle too long, or a request line left incomplete too long; the connection is closed after this. */
  Timeout: -32006,
  /** `baton ui` cannot reach the helper (not running, no permission), or lost it; the WebSocket closes after this. */
  HelperUnavailable: -32007,
} as const;

export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/** An error answer from the helper, as clients see it. */
export class HelperRpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'HelperRpcError';
  }
}
