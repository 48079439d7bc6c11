// What the engine needs from the workers of its TP group, and nothing more, so the engine stays
// transport-agnostic: the gRPC fan-out to every rank, an in-process native runner and the tests'
// fake model all implement this.
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';

export interface StepExecutor {
  /**
   * Runs one step on every rank and resolves with rank 0's response (one SequenceOutput per
   * sequence with output indices). Rejects when any rank fails; the engine then fails the
   * requests of that step. The request has every field filled (it is also a valid gRPC input).
   */
  step(request: StepRequest__Output): Promise<StepResponse__Output>;
  /** Drops rank-side state (penalty history) of sequences that ended; KV blocks need no call. */
  release(seqIds: readonly number[]): Promise<void>;
}
