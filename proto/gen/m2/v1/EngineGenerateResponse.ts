// Original file: proto/m2/v1/coordinator.proto

import type { ChoiceDelta as _m2_v1_ChoiceDelta, ChoiceDelta__Output as _m2_v1_ChoiceDelta__Output } from '../../m2/v1/ChoiceDelta.ts';
import type { Usage as _m2_v1_Usage, Usage__Output as _m2_v1_Usage__Output } from '../../m2/v1/Usage.ts';

export interface EngineGenerateResponse {
  'requestId'?: (string);
  'choices'?: (_m2_v1_ChoiceDelta)[];
  /**
   * On the final message only.
   */
  'usage'?: (_m2_v1_Usage | null);
  /**
   * Timings (seconds) on the final message: queued, first token, end to end.
   */
  'queueSeconds'?: (number | string);
  'ttftSeconds'?: (number | string);
  'e2eSeconds'?: (number | string);
}

export interface EngineGenerateResponse__Output {
  'requestId': (string);
  'choices': (_m2_v1_ChoiceDelta__Output)[];
  /**
   * On the final message only.
   */
  'usage': (_m2_v1_Usage__Output | null);
  /**
   * Timings (seconds) on the final message: queued, first token, end to end.
   */
  'queueSeconds': (number);
  'ttftSeconds': (number);
  'e2eSeconds': (number);
}
