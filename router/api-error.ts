// One error type for everything the router refuses or fails at, carrying what both public APIs
// need: the HTTP status and OpenAI error body fields, and the matching gRPC status code. Text-layer
// and coordinator errors are translated here, so the HTTP and gRPC front ends agree on every case.
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { TextError } from '../coordinator/text/errors.ts';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'service_unavailable_error'
  | 'server_error';

/** OpenAI's error body: `{"error": {message, type, param, code}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

const GRPC_CODE_BY_HTTP: Record<number, GrpcStatus> = {
  400: GrpcStatus.INVALID_ARGUMENT,
  404: GrpcStatus.NOT_FOUND,
  413: GrpcStatus.RESOURCE_EXHAUSTED,
  429: GrpcStatus.RESOURCE_EXHAUSTED,
  499: GrpcStatus.CANCELLED,
  503: GrpcStatus.UNAVAILABLE,
  504: GrpcStatus.DEADLINE_EXCEEDED,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly httpStatus: number,
    readonly type: ApiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds a client should wait before retrying (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  get grpcCode(): GrpcStatus {
    return GRPC_CODE_BY_HTTP[this.httpStatus] ?? GrpcStatus.INTERNAL;
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A request parameter that is missing, of the wrong type or out of range. */
export function badParam(param: string, message: string, code = 'invalid_parameter'): ApiError {
  return new ApiError(400, 'invalid_request_error', `${param}: ${message}`, param, code);
}

/** A short description of a wrong value for error messages ("the string \"x\"", "an array"). */
export function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'string' ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `${typeof v} ${JSON.stringify(v)}`;
}

export function unknownModel(model: string, served: string): ApiError {
  return new ApiError(404, 'not_found_error', `The model ${JSON.stringify(model)} does not exist (this server serves ${JSON.stringify(served)})`, 'model', 'model_not_found');
}

export function unavailable(message: string, code = 'no_ready_backend'): ApiError {
  return new ApiError(503, 'service_unavailable_error', message, null, code, 1);
}

/** Maps anything thrown while handling a request to an ApiError (unknown errors become 500). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof TextError) return badParam(err.field ?? 'messages', stripFieldPrefix(err.message, err.field), err.code);
  if (isServiceError(err)) return fromCoordinatorStatus(err);
  return new ApiError(500, 'server_error', `internal error: ${(err as Error)?.message ?? String(err)}`, null, 'internal_error');
}

/** TextError messages often start with their field already ("messages[0].role: ..."). */
function stripFieldPrefix(message: string, field: string | undefined): string {
  return field !== undefined && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** A coordinator's gRPC failure as the client should see it. */
export function fromCoordinatorStatus(err: ServiceError): ApiError {
  const detail = err.details || err.message;
  switch (err.code) {
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new ApiError(429, 'rate_limit_error', `the server is busy (request queue full): ${detail}`, null, 'queue_full', 1);
    case GrpcStatus.INVALID_ARGUMENT:
      return new ApiError(400, 'invalid_request_error', detail, null, 'invalid_request');
    case GrpcStatus.OUT_OF_RANGE:
      return new ApiError(400, 'invalid_request_error', detail, 'messages', 'context_length_exceeded');
    case GrpcStatus.UNAVAILABLE:
      return unavailable(`model replica unavailable: ${detail}`, 'backend_unavailable');
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new ApiError(504, 'server_error', `model replica timed out: ${detail}`, null, 'backend_timeout');
    case GrpcStatus.CANCELLED:
      return new ApiError(499, 'invalid_request_error', 'request cancelled', null, 'cancelled');
    default:
      return new ApiError(500, 'server_error', `model replica failed: ${detail}`, null, 'backend_error');
  }
}
