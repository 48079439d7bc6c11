// Original file: proto/m2/v1/worker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { HealthRequest as _m2_v1_HealthRequest, HealthRequest__Output as _m2_v1_HealthRequest__Output } from '../../m2/v1/HealthRequest.ts';
import type { HealthResponse as _m2_v1_HealthResponse, HealthResponse__Output as _m2_v1_HealthResponse__Output } from '../../m2/v1/HealthResponse.ts';
import type { LoadRequest as _m2_v1_LoadRequest, LoadRequest__Output as _m2_v1_LoadRequest__Output } from '../../m2/v1/LoadRequest.ts';
import type { LoadResponse as _m2_v1_LoadResponse, LoadResponse__Output as _m2_v1_LoadResponse__Output } from '../../m2/v1/LoadResponse.ts';
import type { ProbeStepRequest as _m2_v1_ProbeStepRequest, ProbeStepRequest__Output as _m2_v1_ProbeStepRequest__Output } from '../../m2/v1/ProbeStepRequest.ts';
import type { ProbeStepResponse as _m2_v1_ProbeStepResponse, ProbeStepResponse__Output as _m2_v1_ProbeStepResponse__Output } from '../../m2/v1/ProbeStepResponse.ts';
import type { ReleaseSequencesRequest as _m2_v1_ReleaseSequencesRequest, ReleaseSequencesRequest__Output as _m2_v1_ReleaseSequencesRequest__Output } from '../../m2/v1/ReleaseSequencesRequest.ts';
import type { ReleaseSequencesResponse as _m2_v1_ReleaseSequencesResponse, ReleaseSequencesResponse__Output as _m2_v1_ReleaseSequencesResponse__Output } from '../../m2/v1/ReleaseSequencesResponse.ts';
import type { ShardInfoRequest as _m2_v1_ShardInfoRequest, ShardInfoRequest__Output as _m2_v1_ShardInfoRequest__Output } from '../../m2/v1/ShardInfoRequest.ts';
import type { ShardInfoResponse as _m2_v1_ShardInfoResponse, ShardInfoResponse__Output as _m2_v1_ShardInfoResponse__Output } from '../../m2/v1/ShardInfoResponse.ts';
import type { StepRequest as _m2_v1_StepRequest, StepRequest__Output as _m2_v1_StepRequest__Output } from '../../m2/v1/StepRequest.ts';
import type { StepResponse as _m2_v1_StepResponse, StepResponse__Output as _m2_v1_StepResponse__Output } from '../../m2/v1/StepResponse.ts';

/**
 * WorkerService: coordinator -> worker ranks of one tensor-parallel group.
 * 
 * Workers only execute. The coordinator owns scheduling and KV block allocation, sends the
 * same Step to every rank of the group, and reads sampled ids from rank 0. Each rank runs
 * the whole per-layer loop in native code (one native call per step), joining collectives
 * with its peers between layers.
 */
export interface WorkerServiceClient extends grpc.Client {
  /**
   * Liveness and readiness of this rank.
   */
  Health(argument: _m2_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _m2_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _m2_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  Health(argument: _m2_v1_HealthRequest, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Liveness and readiness of this rank.
   */
  health(argument: _m2_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _m2_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _m2_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  health(argument: _m2_v1_HealthRequest, callback: grpc.requestCallback<_m2_v1_HealthResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Loads this rank's shard of the model and joins the group's collective.
   */
  Load(argument: _m2_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _m2_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _m2_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  Load(argument: _m2_v1_LoadRequest, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Loads this rank's shard of the model and joins the group's collective.
   */
  load(argument: _m2_v1_LoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _m2_v1_LoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _m2_v1_LoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  load(argument: _m2_v1_LoadRequest, callback: grpc.requestCallback<_m2_v1_LoadResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs a one-token step on a scratch block through every layer and collective, proving
   * the rank and its peers are not hung (readiness when no traffic flows).
   */
  ProbeStep(argument: _m2_v1_ProbeStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  ProbeStep(argument: _m2_v1_ProbeStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  ProbeStep(argument: _m2_v1_ProbeStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  ProbeStep(argument: _m2_v1_ProbeStepRequest, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Runs a one-token step on a scratch block through every layer and collective, proving
   * the rank and its peers are not hung (readiness when no traffic flows).
   */
  probeStep(argument: _m2_v1_ProbeStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  probeStep(argument: _m2_v1_ProbeStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  probeStep(argument: _m2_v1_ProbeStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  probeStep(argument: _m2_v1_ProbeStepRequest, callback: grpc.requestCallback<_m2_v1_ProbeStepResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Drops per-sequence state kept on the rank (rank 0's penalty history) for finished or
   * aborted sequences. KV blocks need no freeing here: the coordinator owns them.
   */
  ReleaseSequences(argument: _m2_v1_ReleaseSequencesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  ReleaseSequences(argument: _m2_v1_ReleaseSequencesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  ReleaseSequences(argument: _m2_v1_ReleaseSequencesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  ReleaseSequences(argument: _m2_v1_ReleaseSequencesRequest, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Drops per-sequence state kept on the rank (rank 0's penalty history) for finished or
   * aborted sequences. KV blocks need no freeing here: the coordinator owns them.
   */
  releaseSequences(argument: _m2_v1_ReleaseSequencesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  releaseSequences(argument: _m2_v1_ReleaseSequencesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  releaseSequences(argument: _m2_v1_ReleaseSequencesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  releaseSequences(argument: _m2_v1_ReleaseSequencesRequest, callback: grpc.requestCallback<_m2_v1_ReleaseSequencesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * What this rank loaded (for the coordinator to check that all ranks agree).
   */
  ShardInfo(argument: _m2_v1_ShardInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  ShardInfo(argument: _m2_v1_ShardInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  ShardInfo(argument: _m2_v1_ShardInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  ShardInfo(argument: _m2_v1_ShardInfoRequest, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  /**
   * What this rank loaded (for the coordinator to check that all ranks agree).
   */
  shardInfo(argument: _m2_v1_ShardInfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  shardInfo(argument: _m2_v1_ShardInfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  shardInfo(argument: _m2_v1_ShardInfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  shardInfo(argument: _m2_v1_ShardInfoRequest, callback: grpc.requestCallback<_m2_v1_ShardInfoResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs forward steps, each over a flat batch of tokens (prefill, decode, chunked prefill and
   * speculative verification are all a step), answered in order on one long-lived stream: a
   * unary call per step cost about 0.5 ms more of grpc-js call setup. A failed step ends the
   * stream with its status (INVALID_ARGUMENT, FAILED_PRECONDITION, INTERNAL).
   */
  StepStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_m2_v1_StepRequest, _m2_v1_StepResponse__Output>;
  StepStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_m2_v1_StepRequest, _m2_v1_StepResponse__Output>;
  /**
   * Runs forward steps, each over a flat batch of tokens (prefill, decode, chunked prefill and
   * speculative verification are all a step), answered in order on one long-lived stream: a
   * unary call per step cost about 0.5 ms more of grpc-js call setup. A failed step ends the
   * stream with its status (INVALID_ARGUMENT, FAILED_PRECONDITION, INTERNAL).
   */
  stepStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_m2_v1_StepRequest, _m2_v1_StepResponse__Output>;
  stepStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_m2_v1_StepRequest, _m2_v1_StepResponse__Output>;
  
}

/**
 * WorkerService: coordinator -> worker ranks of one tensor-parallel group.
 * 
 * Workers only execute. The coordinator owns scheduling and KV block allocation, sends the
 * same Step to every rank of the group, and reads sampled ids from rank 0. Each rank runs
 * the whole per-layer loop in native code (one native call per step), joining collectives
 * with its peers between layers.
 */
export interface WorkerServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Liveness and readiness of this rank.
   */
  Health: grpc.handleUnaryCall<_m2_v1_HealthRequest__Output, _m2_v1_HealthResponse>;
  
  /**
   * Loads this rank's shard of the model and joins the group's collective.
   */
  Load: grpc.handleUnaryCall<_m2_v1_LoadRequest__Output, _m2_v1_LoadResponse>;
  
  /**
   * Runs a one-token step on a scratch block through every layer and collective, proving
   * the rank and its peers are not hung (readiness when no traffic flows).
   */
  ProbeStep: grpc.handleUnaryCall<_m2_v1_ProbeStepRequest__Output, _m2_v1_ProbeStepResponse>;
  
  /**
   * Drops per-sequence state kept on the rank (rank 0's penalty history) for finished or
   * aborted sequences. KV blocks need no freeing here: the coordinator owns them.
   */
  ReleaseSequences: grpc.handleUnaryCall<_m2_v1_ReleaseSequencesRequest__Output, _m2_v1_ReleaseSequencesResponse>;
  
  /**
   * What this rank loaded (for the coordinator to check that all ranks agree).
   */
  ShardInfo: grpc.handleUnaryCall<_m2_v1_ShardInfoRequest__Output, _m2_v1_ShardInfoResponse>;
  
  /**
   * Runs forward steps, each over a flat batch of tokens (prefill, decode, chunked prefill and
   * speculative verification are all a step), answered in order on one long-lived stream: a
   * unary call per step cost about 0.5 ms more of grpc-js call setup. A failed step ends the
   * stream with its status (INVALID_ARGUMENT, FAILED_PRECONDITION, INTERNAL).
   */
  StepStream: grpc.handleBidiStreamingCall<_m2_v1_StepRequest__Output, _m2_v1_StepResponse>;
  
}

export interface WorkerServiceDefinition extends grpc.ServiceDefinition {
  Health: MethodDefinition<_m2_v1_HealthRequest, _m2_v1_HealthResponse, _m2_v1_HealthRequest__Output, _m2_v1_HealthResponse__Output>
  Load: MethodDefinition<_m2_v1_LoadRequest, _m2_v1_LoadResponse, _m2_v1_LoadRequest__Output, _m2_v1_LoadResponse__Output>
  ProbeStep: MethodDefinition<_m2_v1_ProbeStepRequest, _m2_v1_ProbeStepResponse, _m2_v1_ProbeStepRequest__Output, _m2_v1_ProbeStepResponse__Output>
  ReleaseSequences: MethodDefinition<_m2_v1_ReleaseSequencesRequest, _m2_v1_ReleaseSequencesResponse, _m2_v1_ReleaseSequencesRequest__Output, _m2_v1_ReleaseSequencesResponse__Output>
  ShardInfo: MethodDefinition<_m2_v1_ShardInfoRequest, _m2_v1_ShardInfoResponse, _m2_v1_ShardInfoRequest__Output, _m2_v1_ShardInfoResponse__Output>
  StepStream: MethodDefinition<_m2_v1_StepRequest, _m2_v1_StepResponse, _m2_v1_StepRequest__Output, _m2_v1_StepResponse__Output>
}
