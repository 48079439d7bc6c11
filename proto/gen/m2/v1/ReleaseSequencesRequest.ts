// Original file: proto/m2/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface ReleaseSequencesRequest {
  'seqIds'?: (number | string | Long)[];
}

export interface ReleaseSequencesRequest__Output {
  'seqIds': (number)[];
}
