// Original file: proto/m2/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EngineAbortRequest as _m2_v1_EngineAbortRequest, EngineAbortRequest__Output as _m2_v1_EngineAbortRequest__Output } from '../../m2/v1/EngineAbortRequest.ts';
import type { EngineAbortResponse as _m2_v1_EngineAbortResponse, EngineAbortResponse__Output as _m2_v1_EngineAbortResponse__Output } from '../../m2/v1/EngineAbortResponse.ts';
import type { EngineGenerateRequest as _m2_v1_EngineGenerateRequest, EngineGenerateRequest__Output as _m2_v1_EngineGenerateRequest__Output } from '../../m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse as _m2_v1_EngineGenerateResponse, EngineGenerateResponse__Output as _m2_v1_EngineGenerateResponse__Output } from '../../m2/v1/EngineGenerateResponse.ts';
import type { StatsRequest as _m2_v1_StatsRequest, StatsRequest__Output as _m2_v1_StatsRequest__Output } from '../../m2/v1/StatsRequest.ts';
import type { StatsResponse as _m2_v1_StatsResponse, StatsResponse__Output as _m2_v1_StatsResponse__Output } from '../../m2/v1/StatsResponse.ts';

/**
 * CoordinatorService: router -> the coordinator of one model replica (one TP group).
 * 
 * The coordinator admits requests into its running batch (continuous batching, chunked
 * prefill), owns the paged KV cache and prefix cache, detokenizes incrementally and applies
 * stop conditions, so finish reasons and usage are exact.
 */
export interface CoordinatorServiceClient extends grpc.Client {
  /**
   * Aborts a request by id (same effect as cancelling its Generate call).
   */
  Abort(argument: _m2_v1_EngineAbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_EngineAbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_EngineAbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_EngineAbortRequest, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Aborts a request by id (same effect as cancelling its Generate call).
   */
  abort(argument: _m2_v1_EngineAbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_EngineAbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_EngineAbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_EngineAbortRequest, callback: grpc.requestCallback<_m2_v1_EngineAbortResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Generates for one request; the stream ends with a message carrying finish_reason for
   * every choice. Cancelling the call aborts the request and frees its KV blocks.
   */
  Generate(argument: _m2_v1_EngineGenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_EngineGenerateResponse__Output>;
  Generate(argument: _m2_v1_EngineGenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_EngineGenerateResponse__Output>;
  /**
   * Generates for one request; the stream ends with a message carrying finish_reason for
   * every choice. Cancelling the call aborts the request and frees its KV blocks.
   */
  generate(argument: _m2_v1_EngineGenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_EngineGenerateResponse__Output>;
  generate(argument: _m2_v1_EngineGenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_EngineGenerateResponse__Output>;
  
  /**
   * Load and cache state, for routing and autoscaling.
   */
  Stats(argument: _m2_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _m2_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _m2_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  Stats(argument: _m2_v1_StatsRequest, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Load and cache state, for routing and autoscaling.
   */
  stats(argument: _m2_v1_StatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _m2_v1_StatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _m2_v1_StatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  stats(argument: _m2_v1_StatsRequest, callback: grpc.requestCallback<_m2_v1_StatsResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * CoordinatorService: router -> the coordinator of one model replica (one TP group).
 * 
 * The coordinator admits requests into its running batch (continuous batching, chunked
 * prefill), owns the paged KV cache and prefix cache, detokenizes incrementally and applies
 * stop conditions, so finish reasons and usage are exact.
 */
export interface CoordinatorServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Aborts a request by id (same effect as cancelling its Generate call).
   */
  Abort: grpc.handleUnaryCall<_m2_v1_EngineAbortRequest__Output, _m2_v1_EngineAbortResponse>;
  
  /**
   * Generates for one request; the stream ends with a message carrying finish_reason for
   * every choice. Cancelling the call aborts the request and frees its KV blocks.
   */
  Generate: grpc.handleServerStreamingCall<_m2_v1_EngineGenerateRequest__Output, _m2_v1_EngineGenerateResponse>;
  
  /**
   * Load and cache state, for routing and autoscaling.
   */
  Stats: grpc.handleUnaryCall<_m2_v1_StatsRequest__Output, _m2_v1_StatsResponse>;
  
}

export interface CoordinatorServiceDefinition extends grpc.ServiceDefinition {
  Abort: MethodDefinition<_m2_v1_EngineAbortRequest, _m2_v1_EngineAbortResponse, _m2_v1_EngineAbortRequest__Output, _m2_v1_EngineAbortResponse__Output>
  Generate: MethodDefinition<_m2_v1_EngineGenerateRequest, _m2_v1_EngineGenerateResponse, _m2_v1_EngineGenerateRequest__Output, _m2_v1_EngineGenerateResponse__Output>
  Stats: MethodDefinition<_m2_v1_StatsRequest, _m2_v1_StatsResponse, _m2_v1_StatsRequest__Output, _m2_v1_StatsResponse__Output>
}
