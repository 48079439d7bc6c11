// Original file: proto/m2/v1/coordinator.proto


export interface AbortResponse {
  /**
   * False if no such request was running or waiting.
   */
  'found'?: (boolean);
}

export interface AbortResponse__Output {
  /**
   * False if no such request was running or waiting.
   */
  'found': (boolean);
}
