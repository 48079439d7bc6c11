// Original file: proto/m2/v1/worker.proto


export interface ProbeStepRequest {
}

export interface ProbeStepRequest__Output {
}
