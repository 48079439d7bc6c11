// Original file: proto/m2/v1/worker.proto


export interface ShardInfoRequest {
}

export interface ShardInfoRequest__Output {
}
