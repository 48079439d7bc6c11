// Original file: proto/m2/v1/generate.proto

import type { ChatInput as _m2_v1_ChatInput, ChatInput__Output as _m2_v1_ChatInput__Output } from '../../m2/v1/ChatInput.ts';
import type { TokenIds as _m2_v1_TokenIds, TokenIds__Output as _m2_v1_TokenIds__Output } from '../../m2/v1/TokenIds.ts';
import type { GenerationParams as _m2_v1_GenerationParams, GenerationParams__Output as _m2_v1_GenerationParams__Output } from '../../m2/v1/GenerationParams.ts';

export interface GenerateRequest {
  /**
   * Optional caller-chosen id (default: generated); Abort refers to it.
   */
  'requestId'?: (string);
  /**
   * Served model name; empty = the default model.
   */
  'model'?: (string);
  /**
   * Raw completion prompt (no template).
   */
  'text'?: (string);
  /**
   * Chat messages, rendered with the model's chat template.
   */
  'chat'?: (_m2_v1_ChatInput | null);
  /**
   * Pre-tokenized prompt.
   */
  'tokenIds'?: (_m2_v1_TokenIds | null);
  'params'?: (_m2_v1_GenerationParams | null);
  /**
   * Conversation id: requests of one session stick to one replica (its KV prefix).
   */
  'sessionId'?: (string);
  'input'?: "text"|"chat"|"tokenIds";
}

export interface GenerateRequest__Output {
  /**
   * Optional caller-chosen id (default: generated); Abort refers to it.
   */
  'requestId': (string);
  /**
   * Served model name; empty = the default model.
   */
  'model': (string);
  /**
   * Raw completion prompt (no template).
   */
  'text'?: (string);
  /**
   * Chat messages, rendered with the model's chat template.
   */
  'chat'?: (_m2_v1_ChatInput__Output | null);
  /**
   * Pre-tokenized prompt.
   */
  'tokenIds'?: (_m2_v1_TokenIds__Output | null);
  'params': (_m2_v1_GenerationParams__Output | null);
  /**
   * Conversation id: requests of one session stick to one replica (its KV prefix).
   */
  'sessionId': (string);
  'input'?: "text"|"chat"|"tokenIds";
}
