// Original file: proto/m2/v1/generate.proto


export interface ModelInfoRequest {
}

export interface ModelInfoRequest__Output {
}
