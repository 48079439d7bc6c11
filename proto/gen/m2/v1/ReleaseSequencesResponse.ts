// Original file: proto/m2/v1/worker.proto


export interface ReleaseSequencesResponse {
}

export interface ReleaseSequencesResponse__Output {
}
