// One rank's end of WorkerService.StepStream: the coordinator's steps go out over one long-lived
// bidirectional call instead of a unary call each, because grpc-js spends about half a
// millisecond setting up every call (a step is 30-70 ms on CPU). One step is in flight at a time
// (the group runs steps in order), each with its own deadline. The call opens on first use and
// again after it ended: a failed step ends it, and the caller decides whether to step again.
import * as grpc from '@grpc/grpc-js';
import type { WorkerServiceClient } from '../../proto/gen/m2/v1/WorkerService.ts';
import type { StepRequest } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';

type StepCall = grpc.ClientDuplexStream<StepRequest, StepResponse__Output>;

interface PendingStep {
  resolve(response: StepResponse__Output): void;
  reject(error: grpc.ServiceError): void;
  timer: NodeJS.Timeout;
}

function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}

export class StepChannel {
  private call: StepCall | null = null;
  private pending: PendingStep | null = null;

  constructor(
    private readonly client: WorkerServiceClient,
    private readonly timeoutMs: number,
  ) {}

  /** Rejects with the status the rank ended the stream with, or DEADLINE_EXCEEDED. */
  step(request: StepRequest): Promise<StepResponse__Output> {
    if (this.pending) return Promise.reject(serviceError(grpc.status.FAILED_PRECONDITION, 'a step is already in flight on this rank'));
    const call = this.call ?? this.open();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(serviceError(grpc.status.DEADLINE_EXCEEDED, `no answer to the step within ${this.timeoutMs} ms`));
        // The rank may still answer this step later: a fresh call keeps answers and steps paired.
        this.drop(call);
      }, this.timeoutMs);
      this.pending = { resolve, reject, timer };
      call.write(request);
    });
  }

  close(): void {
    if (this.call) this.drop(this.call);
    this.settle(serviceError(grpc.status.CANCELLED, 'the worker group was closed'));
  }

  private open(): StepCall {
    const call = this.client.StepStream();
    // Events of a call that was dropped (deadline, close) concern no step in flight.
    call.on('data', (response: StepResponse__Output) => {
      if (this.call === call) this.settle(null, response);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      this.call = null;
      this.settle(err);
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.call = null;
      this.settle(serviceError(grpc.status.UNAVAILABLE, 'the rank ended the step stream'));
    });
    this.call = call;
    return call;
  }

  private drop(call: StepCall): void {
    if (this.call === call) this.call = null;
    call.cancel();
  }

  private settle(error: grpc.ServiceError | null, response?: StepResponse__Output): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(response!);
  }
}
