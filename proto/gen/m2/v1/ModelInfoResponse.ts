// Original file: proto/m2/v1/generate.proto


export interface ModelInfoResponse {
  'model'?: (string);
  'maxModelLen'?: (number);
  'vocabSize'?: (number);
  'tpSize'?: (number);
  'replicas'?: (number);
  /**
   * "bf16", "f32", "gptq-int4"...
   */
  'dtype'?: (string);
}

export interface ModelInfoResponse__Output {
  'model': (string);
  'maxModelLen': (number);
  'vocabSize': (number);
  'tpSize': (number);
  'replicas': (number);
  /**
   * "bf16", "f32", "gptq-int4"...
   */
  'dtype': (string);
}
