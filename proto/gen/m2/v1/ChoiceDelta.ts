// Original file: proto/m2/v1/coordinator.proto

import type { SampledToken as _m2_v1_SampledToken, SampledToken__Output as _m2_v1_SampledToken__Output } from '../../m2/v1/SampledToken.ts';

/**
 * One streamed update of one choice.
 */
export interface ChoiceDelta {
  'index'?: (number);
  /**
   * New token ids since the last update (stop tokens included).
   */
  'tokenIds'?: (number)[];
  /**
   * New text since the last update; never ends inside a UTF-8 character or a possible stop
   * string prefix.
   */
  'text'?: (string);
  /**
   * Per new token, when logprobs were asked.
   */
  'logprobs'?: (_m2_v1_SampledToken)[];
  /**
   * Set on the last update of this choice: "stop", "length" or "abort".
   */
  'finishReason'?: (string);
  /**
   * The stop string or stop token id that ended the choice, when finish_reason is "stop".
   */
  'stopReason'?: (string);
}

/**
 * One streamed update of one choice.
 */
export interface ChoiceDelta__Output {
  'index': (number);
  /**
   * New token ids since the last update (stop tokens included).
   */
  'tokenIds': (number)[];
  /**
   * New text since the last update; never ends inside a UTF-8 character or a possible stop
   * string prefix.
   */
  'text': (string);
  /**
   * Per new token, when logprobs were asked.
   */
  'logprobs': (_m2_v1_SampledToken__Output)[];
  /**
   * Set on the last update of this choice: "stop", "length" or "abort".
   */
  'finishReason': (string);
  /**
   * The stop string or stop token id that ended the choice, when finish_reason is "stop".
   */
  'stopReason': (string);
}
