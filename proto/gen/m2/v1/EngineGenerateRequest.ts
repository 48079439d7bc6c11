// Original file: proto/m2/v1/coordinator.proto

import type { RequestParams as _m2_v1_RequestParams, RequestParams__Output as _m2_v1_RequestParams__Output } from '../../m2/v1/RequestParams.ts';

export interface EngineGenerateRequest {
  /**
   * Caller-chosen unique id (the router's request id); Abort refers to it.
   */
  'requestId'?: (string);
  /**
   * The prompt, already templated and tokenized by the router.
   */
  'promptTokenIds'?: (number)[];
  'params'?: (_m2_v1_RequestParams | null);
  /**
   * Session id for logging; the router uses it for affinity.
   */
  'sessionId'?: (string);
  /**
   * Trace context (W3C traceparent) for spans.
   */
  'traceparent'?: (string);
}

export interface EngineGenerateRequest__Output {
  /**
   * Caller-chosen unique id (the router's request id); Abort refers to it.
   */
  'requestId': (string);
  /**
   * The prompt, already templated and tokenized by the router.
   */
  'promptTokenIds': (number)[];
  'params': (_m2_v1_RequestParams__Output | null);
  /**
   * Session id for logging; the router uses it for affinity.
   */
  'sessionId': (string);
  /**
   * Trace context (W3C traceparent) for spans.
   */
  'traceparent': (string);
}
