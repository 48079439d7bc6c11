// Original file: proto/m2/v1/worker.proto


export interface HealthRequest {
}

export interface HealthRequest__Output {
}
