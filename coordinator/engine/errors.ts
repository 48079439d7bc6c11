// One error type for everything the engine rejects or fails, with a stable code named after the
// gRPC status the coordinator's server maps it to (so the router can turn it into 400/429/500).

export type EngineErrorCode =
  /** The request itself is wrong (bad token id, min_tokens > max_tokens...). */
  | 'INVALID_ARGUMENT'
  /** Prompt + max_tokens exceed the context length (the router answers context_length_exceeded). */
  | 'OUT_OF_RANGE'
  /** A live request already uses this request id. */
  | 'ALREADY_EXISTS'
  /** The waiting queue is full: retry later or elsewhere. */
  | 'RESOURCE_EXHAUSTED'
  /** The engine is shut down. */
  | 'UNAVAILABLE'
  /** A step failed on the workers (or returned something malformed). */
  | 'INTERNAL';

export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }
}
