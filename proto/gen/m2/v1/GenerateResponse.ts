// Original file: proto/m2/v1/generate.proto

import type { ChoiceUpdate as _m2_v1_ChoiceUpdate, ChoiceUpdate__Output as _m2_v1_ChoiceUpdate__Output } from '../../m2/v1/ChoiceUpdate.ts';
import type { UsageInfo as _m2_v1_UsageInfo, UsageInfo__Output as _m2_v1_UsageInfo__Output } from '../../m2/v1/UsageInfo.ts';

export interface GenerateResponse {
  'requestId'?: (string);
  'choices'?: (_m2_v1_ChoiceUpdate)[];
  /**
   * On the last message.
   */
  'usage'?: (_m2_v1_UsageInfo | null);
}

export interface GenerateResponse__Output {
  'requestId': (string);
  'choices': (_m2_v1_ChoiceUpdate__Output)[];
  /**
   * On the last message.
   */
  'usage': (_m2_v1_UsageInfo__Output | null);
}
