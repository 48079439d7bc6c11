// Original file: proto/m2/v1/worker.proto

import type { StepTimings as _m2_v1_StepTimings, StepTimings__Output as _m2_v1_StepTimings__Output } from '../../m2/v1/StepTimings.ts';

export interface ProbeStepResponse {
  'timings'?: (_m2_v1_StepTimings | null);
}

export interface ProbeStepResponse__Output {
  'timings': (_m2_v1_StepTimings__Output | null);
}
