// Original file: proto/m2/v1/generate.proto

import type { SampledTokenInfo as _m2_v1_SampledTokenInfo, SampledTokenInfo__Output as _m2_v1_SampledTokenInfo__Output } from '../../m2/v1/SampledTokenInfo.ts';

export interface ChoiceUpdate {
  'index'?: (number);
  'tokenIds'?: (number)[];
  /**
   * Answer text (after the last </think>, or everything with thinking off).
   */
  'content'?: (string);
  /**
   * Reasoning text (before </think>); never set with thinking off.
   */
  'reasoningContent'?: (string);
  'logprobs'?: (_m2_v1_SampledTokenInfo)[];
  /**
   * On the choice's last update: "stop", "length" or "abort".
   */
  'finishReason'?: (string);
}

export interface ChoiceUpdate__Output {
  'index': (number);
  'tokenIds': (number)[];
  /**
   * Answer text (after the last </think>, or everything with thinking off).
   */
  'content': (string);
  /**
   * Reasoning text (before </think>); never set with thinking off.
   */
  'reasoningContent': (string);
  'logprobs': (_m2_v1_SampledTokenInfo__Output)[];
  /**
   * On the choice's last update: "stop", "length" or "abort".
   */
  'finishReason': (string);
}
