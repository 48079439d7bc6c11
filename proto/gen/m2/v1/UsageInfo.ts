// Original file: proto/m2/v1/generate.proto


export interface UsageInfo {
  'promptTokens'?: (number);
  'completionTokens'?: (number);
  'cachedTokens'?: (number);
}

export interface UsageInfo__Output {
  'promptTokens': (number);
  'completionTokens': (number);
  'cachedTokens': (number);
}
