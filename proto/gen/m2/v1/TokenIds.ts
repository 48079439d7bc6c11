// Original file: proto/m2/v1/generate.proto


export interface TokenIds {
  'ids'?: (number)[];
}

export interface TokenIds__Output {
  'ids': (number)[];
}
