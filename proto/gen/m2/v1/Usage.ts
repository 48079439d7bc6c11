// Original file: proto/m2/v1/coordinator.proto


export interface Usage {
  'promptTokens'?: (number);
  /**
   * Sum over choices.
   */
  'completionTokens'?: (number);
  /**
   * Prompt tokens served from the prefix cache.
   */
  'cachedTokens'?: (number);
}

export interface Usage__Output {
  'promptTokens': (number);
  /**
   * Sum over choices.
   */
  'completionTokens': (number);
  /**
   * Prompt tokens served from the prefix cache.
   */
  'cachedTokens': (number);
}
