// The coordinator's StepStream client (StepChannel) against an in-process WorkerService whose
// answers a test scripts: steps share one call and are answered in order; a rank's error status
// fails that step with its code and details and the next step opens a new call; a step nobody
// answers fails with DEADLINE_EXCEEDED and a late answer is never taken for the next step's;
// closing fails the step in flight.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { StepChannel } from '../../coordinator/group/step-channel.ts';
import { rejectionCode } from './coordinator-harness.ts';
import { loadWorkerProto } from '../../proto/load.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse } from '../../proto/gen/m2/v1/StepResponse.ts';
import type { WorkerServiceClient } from '../../proto/gen/m2/v1/WorkerService.ts';

type Answer = 'echo' | 'fail' | 'silent' | { lateMs: number };

/** What the fake rank does with each step id; 'echo' when unlisted. */
const script = new Map<number, Answer>();
let callsOpened = 0;
let server: grpc.Server;
let client: WorkerServiceClient;

before(async () => {
  const proto = loadWorkerProto();
  server = new grpc.Server();
  server.addService(proto.m2.v1.WorkerService.service, {
    StepStream: (call: grpc.ServerDuplexStream<StepRequest__Output, StepResponse>) => {
      callsOpened++;
      call.on('data', (req: StepRequest__Output) => {
        const answer = script.get(req.stepId) ?? 'echo';
        if (answer === 'fail') call.emit('error', Object.assign(new Error('bad step'), { code: grpc.status.INVALID_ARGUMENT, details: `step ${req.stepId} is bad` }));
        else if (answer === 'echo') call.write({ stepId: req.stepId });
        else if (answer !== 'silent') setTimeout(() => call.write({ stepId: req.stepId }), answer.lateMs);
      });
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new proto.m2.v1.WorkerService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client.close();
  server.forceShutdown();
});

test('steps share one call and get their own answers, in order', async () => {
  const channel = new StepChannel(client, 5000);
  const opened = callsOpened;
  for (const stepId of [1, 2, 3]) assert.equal((await channel.step({ stepId })).stepId, stepId);
  assert.equal(callsOpened - opened, 1);
  const busy = channel.step({ stepId: 4 });
  assert.equal((await rejectionCode(channel.step({ stepId: 5 }))).code, grpc.status.FAILED_PRECONDITION, 'one step at a time');
  assert.equal((await busy).stepId, 4);
  channel.close();
});

test("a rank's error status fails the step; the next step opens a new call", async () => {
  const channel = new StepChannel(client, 5000);
  script.set(11, 'fail');
  const opened = callsOpened;
  assert.equal((await channel.step({ stepId: 10 })).stepId, 10);
  const err = await rejectionCode(channel.step({ stepId: 11 }));
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(err.details, 'step 11 is bad');
  assert.equal((await channel.step({ stepId: 12 })).stepId, 12);
  assert.equal(callsOpened - opened, 2);
  channel.close();
});

test('an unanswered step fails with DEADLINE_EXCEEDED; its late answer is not the next one', async () => {
  const channel = new StepChannel(client, 200);
  script.set(21, { lateMs: 250 });
  const started = performance.now();
  const err = await rejectionCode(channel.step({ stepId: 21 }));
  assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
  assert.ok(performance.now() - started >= 190, 'not before the deadline');
  script.set(22, { lateMs: 100 });
  // Step 21's answer comes while 22 waits: 22 must still get its own (on a new call).
  assert.equal((await channel.step({ stepId: 22 })).stepId, 22);
  channel.close();
});

test('closing fails the step in flight with CANCELLED', async () => {
  const channel = new StepChannel(client, 5000);
  script.set(31, 'silent');
  const pending = rejectionCode(channel.step({ stepId: 31 }));
  channel.close();
  assert.equal((await pending).code, grpc.status.CANCELLED);
});
