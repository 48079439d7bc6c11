// A real worker's StepStream (micro model, in this process) through the coordinator's
// StepChannel: steps before Load fail FAILED_PRECONDITION; loaded, a prefill and a decode step on
// one stream answer in order with a sampled token each; a step with a block outside the cache
// fails INVALID_ARGUMENT, and the next step, on a fresh stream, is served.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { StepChannel } from '../../coordinator/group/step-channel.ts';
import { loadWorkerProto } from '../../proto/load.ts';
import type { StepRequest } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { WorkerServiceClient } from '../../proto/gen/m2/v1/WorkerService.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { startWorkerGrpc } from '../../worker/server/worker-grpc.ts';
import { WorkerState } from '../../worker/server/worker-state.ts';
import { rejectionCode } from './coordinator-harness.ts';

const NUM_BLOCKS = 8;
const BLOCK_SIZE = 16;
const greedy = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0 };

let server: grpc.Server;
let client: WorkerServiceClient;

before(async () => {
  const started = await startWorkerGrpc(new WorkerState(), '127.0.0.1', 0);
  server = started.server;
  client = new (loadWorkerProto().m2.v1.WorkerService)(`127.0.0.1:${started.port}`, grpc.credentials.createInsecure());
});

after(() => {
  client.close();
  server.forceShutdown();
});

/** One sequence's tokens from `start`, its next token sampled greedily. */
function step(stepId: number, tokenIds: number[], start: number, blockTable = [0]): StepRequest {
  return {
    stepId,
    tokenIds,
    sequences: [{ seqId: 1, tokenOffset: 0, numTokens: tokenIds.length, startPosition: start, promptLen: 3, blockTable, outputIndices: [tokenIds.length - 1], sampling: greedy }],
  };
}

test('StepStream on a real worker: not loaded, in-order answers, a bad step ends only its stream', async () => {
  const channel = new StepChannel(client, 30_000);
  try {
    assert.equal((await rejectionCode(channel.step(step(1, [1, 2, 3], 0)))).code, grpc.status.FAILED_PRECONDITION);

    await new Promise<void>((resolve, reject) =>
      client.Load(
        { modelDir: makeModel({ preset: 'micro' }), rank: 0, tpSize: 1, numKvBlocks: NUM_BLOCKS, blockSize: BLOCK_SIZE, maxBatchedTokens: 64, maxNumSeqs: 4, maxModelLen: NUM_BLOCKS * BLOCK_SIZE, threads: 1, collectiveTimeoutMs: 5000 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    const prefill = await channel.step(step(2, [1, 2, 3], 0));
    assert.equal(prefill.stepId, 2);
    const first = prefill.outputs[0]!.tokens[0]!.tokenId;
    assert.ok(Number.isInteger(first) && first >= 0);
    const decode = await channel.step(step(3, [first], 3));
    assert.equal(decode.stepId, 3);
    assert.equal(decode.outputs.length, 1);

    const bad = await rejectionCode(channel.step(step(4, [first], 4, [NUM_BLOCKS + 5])));
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, /block 13 is outside/);
    assert.equal((await channel.step(step(5, [first], 4))).stepId, 5);
  } finally {
    channel.close();
  }
});
