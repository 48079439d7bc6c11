import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AbortRequest as _m2_v1_AbortRequest, AbortRequest__Output as _m2_v1_AbortRequest__Output } from './m2/v1/AbortRequest.ts';
import type { AbortResponse as _m2_v1_AbortResponse, AbortResponse__Output as _m2_v1_AbortResponse__Output } from './m2/v1/AbortResponse.ts';
import type { ChatInput as _m2_v1_ChatInput, ChatInput__Output as _m2_v1_ChatInput__Output } from './m2/v1/ChatInput.ts';
import type { ChatMessage as _m2_v1_ChatMessage, ChatMessage__Output as _m2_v1_ChatMessage__Output } from './m2/v1/ChatMessage.ts';
import type { ChoiceUpdate as _m2_v1_ChoiceUpdate, ChoiceUpdate__Output as _m2_v1_ChoiceUpdate__Output } from './m2/v1/ChoiceUpdate.ts';
import type { DetokenizeRequest as _m2_v1_DetokenizeRequest, DetokenizeRequest__Output as _m2_v1_DetokenizeRequest__Output } from './m2/v1/DetokenizeRequest.ts';
import type { DetokenizeResponse as _m2_v1_DetokenizeResponse, DetokenizeResponse__Output as _m2_v1_DetokenizeResponse__Output } from './m2/v1/DetokenizeResponse.ts';
import type { GenerateRequest as _m2_v1_GenerateRequest, GenerateRequest__Output as _m2_v1_GenerateRequest__Output } from './m2/v1/GenerateRequest.ts';
import type { GenerateResponse as _m2_v1_GenerateResponse, GenerateResponse__Output as _m2_v1_GenerateResponse__Output } from './m2/v1/GenerateResponse.ts';
import type { GenerateServiceClient as _m2_v1_GenerateServiceClient, GenerateServiceDefinition as _m2_v1_GenerateServiceDefinition } from './m2/v1/GenerateService.ts';
import type { GenerationParams as _m2_v1_GenerationParams, GenerationParams__Output as _m2_v1_GenerationParams__Output } from './m2/v1/GenerationParams.ts';
import type { ModelInfoRequest as _m2_v1_ModelInfoRequest, ModelInfoRequest__Output as _m2_v1_ModelInfoRequest__Output } from './m2/v1/ModelInfoRequest.ts';
import type { ModelInfoResponse as _m2_v1_ModelInfoResponse, ModelInfoResponse__Output as _m2_v1_ModelInfoResponse__Output } from './m2/v1/ModelInfoResponse.ts';
import type { SampledTokenInfo as _m2_v1_SampledTokenInfo, SampledTokenInfo__Output as _m2_v1_SampledTokenInfo__Output } from './m2/v1/SampledTokenInfo.ts';
import type { TokenIds as _m2_v1_TokenIds, TokenIds__Output as _m2_v1_TokenIds__Output } from './m2/v1/TokenIds.ts';
import type { TokenLogprobInfo as _m2_v1_TokenLogprobInfo, TokenLogprobInfo__Output as _m2_v1_TokenLogprobInfo__Output } from './m2/v1/TokenLogprobInfo.ts';
import type { TokenizeRequest as _m2_v1_TokenizeRequest, TokenizeRequest__Output as _m2_v1_TokenizeRequest__Output } from './m2/v1/TokenizeRequest.ts';
import type { TokenizeResponse as _m2_v1_TokenizeResponse, TokenizeResponse__Output as _m2_v1_TokenizeResponse__Output } from './m2/v1/TokenizeResponse.ts';
import type { UsageInfo as _m2_v1_UsageInfo, UsageInfo__Output as _m2_v1_UsageInfo__Output } from './m2/v1/UsageInfo.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  m2: {
    v1: {
      AbortRequest: MessageTypeDefinition<_m2_v1_AbortRequest, _m2_v1_AbortRequest__Output>
      AbortResponse: MessageTypeDefinition<_m2_v1_AbortResponse, _m2_v1_AbortResponse__Output>
      ChatInput: MessageTypeDefinition<_m2_v1_ChatInput, _m2_v1_ChatInput__Output>
      ChatMessage: MessageTypeDefinition<_m2_v1_ChatMessage, _m2_v1_ChatMessage__Output>
      ChoiceUpdate: MessageTypeDefinition<_m2_v1_ChoiceUpdate, _m2_v1_ChoiceUpdate__Output>
      DetokenizeRequest: MessageTypeDefinition<_m2_v1_DetokenizeRequest, _m2_v1_DetokenizeRequest__Output>
      DetokenizeResponse: MessageTypeDefinition<_m2_v1_DetokenizeResponse, _m2_v1_DetokenizeResponse__Output>
      GenerateRequest: MessageTypeDefinition<_m2_v1_GenerateRequest, _m2_v1_GenerateRequest__Output>
      GenerateResponse: MessageTypeDefinition<_m2_v1_GenerateResponse, _m2_v1_GenerateResponse__Output>
      /**
       * GenerateService: the public gRPC API of the router (port 50051 by default).
       * 
       * Text, chat messages or token ids in; a stream of token ids and text deltas out, with
       * reasoning split from content for thinking models. Requests are routed to a model replica by
       * session affinity, cached prefix and load.
       */
      GenerateService: SubtypeConstructor<typeof grpc.Client, _m2_v1_GenerateServiceClient> & { service: _m2_v1_GenerateServiceDefinition }
      GenerationParams: MessageTypeDefinition<_m2_v1_GenerationParams, _m2_v1_GenerationParams__Output>
      ModelInfoRequest: MessageTypeDefinition<_m2_v1_ModelInfoRequest, _m2_v1_ModelInfoRequest__Output>
      ModelInfoResponse: MessageTypeDefinition<_m2_v1_ModelInfoResponse, _m2_v1_ModelInfoResponse__Output>
      SampledTokenInfo: MessageTypeDefinition<_m2_v1_SampledTokenInfo, _m2_v1_SampledTokenInfo__Output>
      TokenIds: MessageTypeDefinition<_m2_v1_TokenIds, _m2_v1_TokenIds__Output>
      TokenLogprobInfo: MessageTypeDefinition<_m2_v1_TokenLogprobInfo, _m2_v1_TokenLogprobInfo__Output>
      TokenizeRequest: MessageTypeDefinition<_m2_v1_TokenizeRequest, _m2_v1_TokenizeRequest__Output>
      TokenizeResponse: MessageTypeDefinition<_m2_v1_TokenizeResponse, _m2_v1_TokenizeResponse__Output>
      UsageInfo: MessageTypeDefinition<_m2_v1_UsageInfo, _m2_v1_UsageInfo__Output>
    }
  }
}

