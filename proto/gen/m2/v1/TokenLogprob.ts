// Original file: proto/m2/v1/worker.proto


export interface TokenLogprob {
  'tokenId'?: (number);
  'logprob'?: (number | string);
}

export interface TokenLogprob__Output {
  'tokenId': (number);
  'logprob': (number);
}
