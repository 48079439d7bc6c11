// Original file: proto/m2/v1/generate.proto


export interface AbortResponse {
  'found'?: (boolean);
}

export interface AbortResponse__Output {
  'found': (boolean);
}
