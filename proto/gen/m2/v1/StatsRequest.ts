// Original file: proto/m2/v1/coordinator.proto


export interface StatsRequest {
}

export interface StatsRequest__Output {
}
