// Original file: proto/m2/v1/generate.proto


export interface DetokenizeResponse {
  'text'?: (string);
}

export interface DetokenizeResponse__Output {
  'text': (string);
}
