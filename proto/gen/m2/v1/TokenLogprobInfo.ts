// Original file: proto/m2/v1/generate.proto


export interface TokenLogprobInfo {
  'tokenId'?: (number);
  'token'?: (string);
  'logprob'?: (number | string);
}

export interface TokenLogprobInfo__Output {
  'tokenId': (number);
  'token': (string);
  'logprob': (number);
}
