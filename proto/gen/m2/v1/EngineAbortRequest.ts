// Original file: proto/m2/v1/coordinator.proto


export interface EngineAbortRequest {
  'requestId'?: (string);
}

export interface EngineAbortRequest__Output {
  'requestId': (string);
}
