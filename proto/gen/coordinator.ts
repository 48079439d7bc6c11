import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ChoiceDelta as _m2_v1_ChoiceDelta, ChoiceDelta__Output as _m2_v1_ChoiceDelta__Output } from './m2/v1/ChoiceDelta.ts';
import type { CoordinatorServiceClient as _m2_v1_CoordinatorServiceClient, CoordinatorServiceDefinition as _m2_v1_CoordinatorServiceDefinition } from './m2/v1/CoordinatorService.ts';
import type { EngineAbortRequest as _m2_v1_EngineAbortRequest, EngineAbortRequest__Output as _m2_v1_EngineAbortRequest__Output } from './m2/v1/EngineAbortRequest.ts';
import type { EngineAbortResponse as _m2_v1_EngineAbortResponse, EngineAbortResponse__Output as _m2_v1_EngineAbortResponse__Output } from './m2/v1/EngineAbortResponse.ts';
import type { EngineGenerateRequest as _m2_v1_EngineGenerateRequest, EngineGenerateRequest__Output as _m2_v1_EngineGenerateRequest__Output } from './m2/v1/EngineGenerateRequest.ts';
import type { EngineGenerateResponse as _m2_v1_EngineGenerateResponse, EngineGenerateResponse__Output as _m2_v1_EngineGenerateResponse__Output } from './m2/v1/EngineGenerateResponse.ts';
import type { HealthRequest as _m2_v1_HealthRequest, HealthRequest__Output as _m2_v1_HealthRequest__Output } from './m2/v1/HealthRequest.ts';
import type { HealthResponse as _m2_v1_HealthResponse, HealthResponse__Output as _m2_v1_HealthResponse__Output } from './m2/v1/HealthResponse.ts';
import type { LoadRequest as _m2_v1_LoadRequest, LoadRequest__Output as _m2_v1_LoadRequest__Output } from './m2/v1/LoadRequest.ts';
import type { LoadResponse as _m2_v1_LoadResponse, LoadResponse__Output as _m2_v1_LoadResponse__Output } from './m2/v1/LoadResponse.ts';
import type { ProbeStepRequest as _m2_v1_ProbeStepRequest, ProbeStepRequest__Output as _m2_v1_ProbeStepRequest__Output } from './m2/v1/ProbeStepRequest.ts';
import type { ProbeStepResponse as _m2_v1_ProbeStepResponse, ProbeStepResponse__Output as _m2_v1_ProbeStepResponse__Output } from './m2/v1/ProbeStepResponse.ts';
import type { ReleaseSequencesRequest as _m2_v1_ReleaseSequencesRequest, ReleaseSequencesRequest__Output as _m2_v1_ReleaseSequencesRequest__Output } from './m2/v1/ReleaseSequencesRequest.ts';
import type { ReleaseSequencesResponse as _m2_v1_ReleaseSequencesResponse, ReleaseSequencesResponse__Output as _m2_v1_ReleaseSequencesResponse__Output } from './m2/v1/ReleaseSequencesResponse.ts';
import type { RequestParams as _m2_v1_RequestParams, RequestParams__Output as _m2_v1_RequestParams__Output } from './m2/v1/RequestParams.ts';
import type { SampledToken as _m2_v1_SampledToken, SampledToken__Output as _m2_v1_SampledToken__Output } from './m2/v1/SampledToken.ts';
import type { SamplingParams as _m2_v1_SamplingParams, SamplingParams__Output as _m2_v1_SamplingParams__Output } from './m2/v1/SamplingParams.ts';
import type { SequenceOutput as _m2_v1_SequenceOutput, SequenceOutput__Output as _m2_v1_SequenceOutput__Output } from './m2/v1/SequenceOutput.ts';
import type { SequenceStep as _m2_v1_SequenceStep, SequenceStep__Output as _m2_v1_SequenceStep__Output } from './m2/v1/SequenceStep.ts';
import type { ShardInfoRequest as _m2_v1_ShardInfoRequest, ShardInfoRequest__Output as _m2_v1_ShardInfoRequest__Output } from './m2/v1/ShardInfoRequest.ts';
import type { ShardInfoResponse as _m2_v1_ShardInfoResponse, ShardInfoResponse__Output as _m2_v1_ShardInfoResponse__Output } from './m2/v1/ShardInfoResponse.ts';
import type { StatsRequest as _m2_v1_StatsRequest, StatsRequest__Output as _m2_v1_StatsRequest__Output } from './m2/v1/StatsRequest.ts';
import type { StatsResponse as _m2_v1_StatsResponse, StatsResponse__Output as _m2_v1_StatsResponse__Output } from './m2/v1/StatsResponse.ts';
import type { StepRequest as _m2_v1_StepRequest, StepRequest__Output as _m2_v1_StepRequest__Output } from './m2/v1/StepRequest.ts';
import type { StepResponse as _m2_v1_StepResponse, StepResponse__Output as _m2_v1_StepResponse__Output } from './m2/v1/StepResponse.ts';
import type { StepTimings as _m2_v1_StepTimings, StepTimings__Output as _m2_v1_StepTimings__Output } from './m2/v1/StepTimings.ts';
import type { TokenLogprob as _m2_v1_TokenLogprob, TokenLogprob__Output as _m2_v1_TokenLogprob__Output } from './m2/v1/TokenLogprob.ts';
import type { Usage as _m2_v1_Usage, Usage__Output as _m2_v1_Usage__Output } from './m2/v1/Usage.ts';
import type { WorkerServiceClient as _m2_v1_WorkerServiceClient, WorkerServiceDefinition as _m2_v1_WorkerServiceDefinition } from './m2/v1/WorkerService.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  m2: {
    v1: {
      ChoiceDelta: MessageTypeDefinition<_m2_v1_ChoiceDelta, _m2_v1_ChoiceDelta__Output>
      CollectiveKind: EnumTypeDefinition
      /**
       * CoordinatorService: router -> the coordinator of one model replica (one TP group).
       * 
       * The coordinator admits requests into its running batch (continuous batching, chunked
       * prefill), owns the paged KV cache and prefix cache, detokenizes incrementally and applies
       * stop conditions, so finish reasons and usage are exact.
       */
      CoordinatorService: SubtypeConstructor<typeof grpc.Client, _m2_v1_CoordinatorServiceClient> & { service: _m2_v1_CoordinatorServiceDefinition }
      EngineAbortRequest: MessageTypeDefinition<_m2_v1_EngineAbortRequest, _m2_v1_EngineAbortRequest__Output>
      EngineAbortResponse: MessageTypeDefinition<_m2_v1_EngineAbortResponse, _m2_v1_EngineAbortResponse__Output>
      EngineGenerateRequest: MessageTypeDefinition<_m2_v1_EngineGenerateRequest, _m2_v1_EngineGenerateRequest__Output>
      EngineGenerateResponse: MessageTypeDefinition<_m2_v1_EngineGenerateResponse, _m2_v1_EngineGenerateResponse__Output>
      HealthRequest: MessageTypeDefinition<_m2_v1_HealthRequest, _m2_v1_HealthRequest__Output>
      HealthResponse: MessageTypeDefinition<_m2_v1_HealthResponse, _m2_v1_HealthResponse__Output>
      LoadRequest: MessageTypeDefinition<_m2_v1_LoadRequest, _m2_v1_LoadRequest__Output>
      LoadResponse: MessageTypeDefinition<_m2_v1_LoadResponse, _m2_v1_LoadResponse__Output>
      ProbeStepRequest: MessageTypeDefinition<_m2_v1_ProbeStepRequest, _m2_v1_ProbeStepRequest__Output>
      ProbeStepResponse: MessageTypeDefinition<_m2_v1_ProbeStepResponse, _m2_v1_ProbeStepResponse__Output>
      ReleaseSequencesRequest: MessageTypeDefinition<_m2_v1_ReleaseSequencesRequest, _m2_v1_ReleaseSequencesRequest__Output>
      ReleaseSequencesResponse: MessageTypeDefinition<_m2_v1_ReleaseSequencesResponse, _m2_v1_ReleaseSequencesResponse__Output>
      RequestParams: MessageTypeDefinition<_m2_v1_RequestParams, _m2_v1_RequestParams__Output>
      SampledToken: MessageTypeDefinition<_m2_v1_SampledToken, _m2_v1_SampledToken__Output>
      SamplingParams: MessageTypeDefinition<_m2_v1_SamplingParams, _m2_v1_SamplingParams__Output>
      SequenceOutput: MessageTypeDefinition<_m2_v1_SequenceOutput, _m2_v1_SequenceOutput__Output>
      SequenceStep: MessageTypeDefinition<_m2_v1_SequenceStep, _m2_v1_SequenceStep__Output>
      ShardInfoRequest: MessageTypeDefinition<_m2_v1_ShardInfoRequest, _m2_v1_ShardInfoRequest__Output>
      ShardInfoResponse: MessageTypeDefinition<_m2_v1_ShardInfoResponse, _m2_v1_ShardInfoResponse__Output>
      StatsRequest: MessageTypeDefinition<_m2_v1_StatsRequest, _m2_v1_StatsRequest__Output>
      StatsResponse: MessageTypeDefinition<_m2_v1_StatsResponse, _m2_v1_StatsResponse__Output>
      StepRequest: MessageTypeDefinition<_m2_v1_StepRequest, _m2_v1_StepRequest__Output>
      StepResponse: MessageTypeDefinition<_m2_v1_StepResponse, _m2_v1_StepResponse__Output>
      StepTimings: MessageTypeDefinition<_m2_v1_StepTimings, _m2_v1_StepTimings__Output>
      TokenLogprob: MessageTypeDefinition<_m2_v1_TokenLogprob, _m2_v1_TokenLogprob__Output>
      Usage: MessageTypeDefinition<_m2_v1_Usage, _m2_v1_Usage__Output>
      /**
       * WorkerService: coordinator -> worker ranks of one tensor-parallel group.
       * 
       * Workers only execute. The coordinator owns scheduling and KV block allocation, sends the
       * same Step to every rank of the group, and reads sampled ids from rank 0. Each rank runs
       * the whole per-layer loop in native code (one native call per step), joining collectives
       * with its peers between layers.
       */
      WorkerService: SubtypeConstructor<typeof grpc.Client, _m2_v1_WorkerServiceClient> & { service: _m2_v1_WorkerServiceDefinition }
    }
  }
}

