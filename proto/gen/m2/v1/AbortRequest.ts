// Original file: proto/m2/v1/generate.proto


export interface AbortRequest {
  'requestId'?: (string);
}

export interface AbortRequest__Output {
  'requestId': (string);
}
