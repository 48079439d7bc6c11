// Original file: proto/m2/v1/coordinator.proto


export interface EngineAbortResponse {
  /**
   * False if no such request was running or waiting.
   */
  'found'?: (boolean);
}

export interface EngineAbortResponse__Output {
  /**
   * False if no such request was running or waiting.
   */
  'found': (boolean);
}
