// Original file: proto/m2/v1/generate.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortRequest as _m2_v1_AbortRequest, AbortRequest__Output as _m2_v1_AbortRequest__Output } from '../../m2/v1/AbortRequest.ts';
import type { AbortResponse as _m2_v1_AbortResponse, AbortResponse__Output as _m2_v1_AbortResponse__Output } from '../../m2/v1/AbortResponse.ts';
import type { DetokenizeRequest as _m2_v1_DetokenizeRequest, DetokenizeRequest__Output as _m2_v1_DetokenizeRequest__Output } from '../../m2/v1/DetokenizeRequest.ts';
import type { DetokenizeResponse as _m2_v1_DetokenizeResponse, DetokenizeResponse__Output as _m2_v1_DetokenizeResponse__Output } from '../../m2/v1/DetokenizeResponse.ts';
import type { GenerateRequest as _m2_v1_GenerateRequest, GenerateRequest__Output as _m2_v1_GenerateRequest__Output } from '../../m2/v1/GenerateRequest.ts';
import type { GenerateResponse as _m2_v1_GenerateResponse, GenerateResponse__Output as _m2_v1_GenerateResponse__Output } from '../../m2/v1/GenerateResponse.ts';
import type { ModelInfoRequest as _m2_v1_ModelInfoRequest, ModelInfoRequest__Output as _m2_v1_ModelInfoRequest__Output } from '../../m2/v1/ModelInfoRequest.ts';
import type { ModelInfoResponse as _m2_v1_ModelInfoResponse, ModelInfoResponse__Output as _m2_v1_ModelInfoResponse__Output } from '../../m2/v1/ModelInfoResponse.ts';
import type { TokenizeRequest as _m2_v1_TokenizeRequest, TokenizeRequest__Output as _m2_v1_TokenizeRequest__Output } from '../../m2/v1/TokenizeRequest.ts';
import type { TokenizeResponse as _m2_v1_TokenizeResponse, TokenizeResponse__Output as _m2_v1_TokenizeResponse__Output } from '../../m2/v1/TokenizeResponse.ts';

/**
 * GenerateService: the public gRPC API of the router (port 50051 by default).
 * 
 * Text, chat messages or token ids in; a stream of token ids and text deltas out, with
 * reasoning split from content for thinking models. Requests are routed to a model replica by
 * session affinity, cached prefix and load.
 */
export interface GenerateServiceClient extends grpc.Client {
  /**
   * Aborts a running request by id.
   */
  Abort(argument: _m2_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _m2_v1_AbortRequest, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Aborts a running request by id.
   */
  abort(argument: _m2_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _m2_v1_AbortRequest, callback: grpc.requestCallback<_m2_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Token ids -> text.
   */
  Detokenize(argument: _m2_v1_DetokenizeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  Detokenize(argument: _m2_v1_DetokenizeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  Detokenize(argument: _m2_v1_DetokenizeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  Detokenize(argument: _m2_v1_DetokenizeRequest, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Token ids -> text.
   */
  detokenize(argument: _m2_v1_DetokenizeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  detokenize(argument: _m2_v1_DetokenizeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  detokenize(argument: _m2_v1_DetokenizeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  detokenize(argument: _m2_v1_DetokenizeRequest, callback: grpc.requestCallback<_m2_v1_DetokenizeResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Generates and streams the output. The last message of the stream carries finish_reason
   * and usage. Cancelling the call aborts the request.
   */
  Generate(argument: _m2_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_GenerateResponse__Output>;
  Generate(argument: _m2_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_GenerateResponse__Output>;
  /**
   * Generates and streams the output. The last message of the stream carries finish_reason
   * and usage. Cancelling the call aborts the request.
   */
  generate(argument: _m2_v1_GenerateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_GenerateResponse__Output>;
  generate(argument: _m2_v1_GenerateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_m2_v1_GenerateResponse__Output>;
  
  /**
   * The served model's identity and limits.
   */
  ModelInfo(argument: _m2_v1_ModelInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  ModelInfo(argument: _m2_v1_ModelInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  ModelInfo(argument: _m2_v1_ModelInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  ModelInfo(argument: _m2_v1_ModelInfoRequest, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The served model's identity and limits.
   */
  modelInfo(argument: _m2_v1_ModelInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  modelInfo(argument: _m2_v1_ModelInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  modelInfo(argument: _m2_v1_ModelInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  modelInfo(argument: _m2_v1_ModelInfoRequest, callback: grpc.requestCallback<_m2_v1_ModelInfoResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Text -> token ids with the model's tokenizer.
   */
  Tokenize(argument: _m2_v1_TokenizeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  Tokenize(argument: _m2_v1_TokenizeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  Tokenize(argument: _m2_v1_TokenizeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  Tokenize(argument: _m2_v1_TokenizeRequest, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Text -> token ids with the model's tokenizer.
   */
  tokenize(argument: _m2_v1_TokenizeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  tokenize(argument: _m2_v1_TokenizeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  tokenize(argument: _m2_v1_TokenizeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  tokenize(argument: _m2_v1_TokenizeRequest, callback: grpc.requestCallback<_m2_v1_TokenizeResponse__Output>): grpc.ClientUnaryCall;
  
}

/**
 * GenerateService: the public gRPC API of the router (port 50051 by default).
 * 
 * Text, chat messages or token ids in; a stream of token ids and text deltas out, with
 * reasoning split from content for thinking models. Requests are routed to a model replica by
 * session affinity, cached prefix and load.
 */
export interface GenerateServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Aborts a running request by id.
   */
  Abort: grpc.handleUnaryCall<_m2_v1_AbortRequest__Output, _m2_v1_AbortResponse>;
  
  /**
   * Token ids -> text.
   */
  Detokenize: grpc.handleUnaryCall<_m2_v1_DetokenizeRequest__Output, _m2_v1_DetokenizeResponse>;
  
  /**
   * Generates and streams the output. The last message of the stream carries finish_reason
   * and usage. Cancelling the call aborts the request.
   */
  Generate: grpc.handleServerStreamingCall<_m2_v1_GenerateRequest__Output, _m2_v1_GenerateResponse>;
  
  /**
   * The served model's identity and limits.
   */
  ModelInfo: grpc.handleUnaryCall<_m2_v1_ModelInfoRequest__Output, _m2_v1_ModelInfoResponse>;
  
  /**
   * Text -> token ids with the model's tokenizer.
   */
  Tokenize: grpc.handleUnaryCall<_m2_v1_TokenizeRequest__Output, _m2_v1_TokenizeResponse>;
  
}

export interface GenerateServiceDefinition extends grpc.ServiceDefinition {
  Abort: MethodDefinition<_m2_v1_AbortRequest, _m2_v1_AbortResponse, _m2_v1_AbortRequest__Output, _m2_v1_AbortResponse__Output>
  Detokenize: MethodDefinition<_m2_v1_DetokenizeRequest, _m2_v1_DetokenizeResponse, _m2_v1_DetokenizeRequest__Output, _m2_v1_DetokenizeResponse__Output>
  Generate: MethodDefinition<_m2_v1_GenerateRequest, _m2_v1_GenerateResponse, _m2_v1_GenerateRequest__Output, _m2_v1_GenerateResponse__Output>
  ModelInfo: MethodDefinition<_m2_v1_ModelInfoRequest, _m2_v1_ModelInfoResponse, _m2_v1_ModelInfoRequest__Output, _m2_v1_ModelInfoResponse__Output>
  Tokenize: MethodDefinition<_m2_v1_TokenizeRequest, _m2_v1_TokenizeResponse, _m2_v1_TokenizeRequest__Output, _m2_v1_TokenizeResponse__Output>
}
