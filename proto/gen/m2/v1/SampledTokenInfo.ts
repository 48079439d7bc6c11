// Original file: proto/m2/v1/generate.proto

import type { TokenLogprobInfo as _m2_v1_TokenLogprobInfo, TokenLogprobInfo__Output as _m2_v1_TokenLogprobInfo__Output } from '../../m2/v1/TokenLogprobInfo.ts';

export interface SampledTokenInfo {
  'tokenId'?: (number);
  'token'?: (string);
  'logprob'?: (number | string);
  'topLogprobs'?: (_m2_v1_TokenLogprobInfo)[];
}

export interface SampledTokenInfo__Output {
  'tokenId': (number);
  'token': (string);
  'logprob': (number);
  'topLogprobs': (_m2_v1_TokenLogprobInfo__Output)[];
}
