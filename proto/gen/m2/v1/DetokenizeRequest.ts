// Original file: proto/m2/v1/generate.proto


export interface DetokenizeRequest {
  'model'?: (string);
  'tokenIds'?: (number)[];
  'skipSpecialTokens'?: (boolean);
}

export interface DetokenizeRequest__Output {
  'model': (string);
  'tokenIds': (number)[];
  'skipSpecialTokens': (boolean);
}
