// WorkerService over gRPC: maps each call onto WorkerState and its errors onto status codes
// (bad input INVALID_ARGUMENT, nothing loaded FAILED_PRECONDITION, a failed step INTERNAL).
import * as grpc from '@grpc/grpc-js';
import { loadWorkerProto } from '../../proto/load.ts';
import type { WorkerServiceHandlers } from '../../proto/gen/m2/v1/WorkerService.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse } from '../../proto/gen/m2/v1/StepResponse.ts';
import type { WorkerMetrics } from '../../coordinator/metrics/worker-metrics.ts';
import { WorkerState, WorkerStateError } from './worker-state.ts';

function statusOf(err: unknown): grpc.status {
  if (err instanceof WorkerStateError) {
    if (err.kind === 'invalid') return grpc.status.INVALID_ARGUMENT;
    if (err.kind === 'not-loaded') return grpc.status.FAILED_PRECONDITION;
  }
  return grpc.status.INTERNAL;
}

function toServiceError(err: unknown): grpc.ServiceError {
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), { code: statusOf(err), details: message, metadata: new grpc.Metadata() });
}

/** Wraps a sync or async handler body into a unary callback handler. */
function unary<Req, Res>(body: (req: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => body(call.request))
      .then((res) => callback(null, res), (err: unknown) => callback(toServiceError(err)));
  };
}

/**
 * Runs the stream's steps in arrival order and answers each in turn; the first failure ends the
 * stream with its status (the group is broken then: the coordinator stops stepping it).
 */
function orderedStream<Req, Res>(body: (req: Req) => Promise<Res>): grpc.handleBidiStreamingCall<Req, Res> {
  return (call) => {
    let queue = Promise.resolve();
    let failed = false;
    call.on('data', (req: Req) => {
      queue = queue.then(async () => {
        if (failed || call.cancelled) return;
        try {
          call.write(await body(req));
        } catch (err) {
          failed = true;
          call.emit('error', toServiceError(err));
        }
      });
    });
    call.on('end', () => void queue.then(() => !failed && call.end()));
  };
}

export function workerServiceHandlers(state: WorkerState, metrics?: WorkerMetrics): WorkerServiceHandlers {
  const step = async (req: StepRequest__Output): Promise<StepResponse> => {
    try {
      const response = await state.step(req);
      metrics?.observeStep(response.timings);
      return response;
    } catch (err) {
      metrics?.stepFailed();
      throw err;
    }
  };
  return {
    Load: unary((req) => state.load(req)),
    ShardInfo: unary(() => state.shardInfo()),
    StepStream: orderedStream(step),
    ReleaseSequences: unary(async (req) => {
      await state.release(req.seqIds);
      return {};
    }),
    Health: unary(() => ({ loaded: state.loaded, msSinceLastStep: state.msSinceLastStep(), lastError: state.lastError })),
    ProbeStep: unary(async () => {
      const r = await state.probe();
      return { timings: { forwardNs: r.forwardNs, collectiveNs: r.collectiveNs } };
    }),
  };
}

export function startWorkerGrpc(state: WorkerState, host: string, port: number, metrics?: WorkerMetrics): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 256 << 20, 'grpc.max_send_message_length': 256 << 20 });
  server.addService(loadWorkerProto().m2.v1.WorkerService.service, workerServiceHandlers(state, metrics));
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve({ server, port: bound });
    });
  });
}
