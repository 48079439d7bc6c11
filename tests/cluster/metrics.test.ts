// GET /metrics on every process of one replica (tiny preset, TP 1: a real `m2 worker` process, the
// coordinator and the router in this process): the vLLM names and m2 extras with their types and
// labels (model_name, replica), counters and histograms that move with traffic by the amounts the
// responses report, and gauges that follow a running request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnM2, stopChildren, type M2Child } from '../../coordinator/group/child-process.ts';
import { startCoordinator, type RunningCoordinator } from '../../coordinator/service/coordinator-server.ts';
import { startRouter, type RunningRouter } from '../../router/router.ts';
import { makeModel } from '../../worker/model/make-model.ts';
import { scrape, total, type Scrape } from './metrics-scrape.ts';
import { killTagged, newTag } from './tp-harness.ts';

const tag = newTag();
process.env.M2_TEST_TAG = tag;
const MODEL = 'm2-tiny';

let worker: M2Child;
let coordinator: RunningCoordinator;
let router: RunningRouter;
const urls = { router: '', coordinator: '', worker: '' };

before(async () => {
  const modelDir = makeModel({ preset: 'tiny' });
  worker = await spawnM2(['worker', '--port', '0', '--health-port', '0'], { name: 'worker 0', timeoutMs: 60_000 });
  coordinator = await startCoordinator({
    replica: {
      modelDir,
      tp: 1,
      collective: 'shm',
      workerAddresses: [worker.ready.grpc!],
      kvCacheMemory: '16MiB',
      blockSize: 16,
      maxNumSeqs: 8,
      maxNumBatchedTokens: 256,
      threadsPerRank: 1,
      stepTimeoutMs: 30_000,
      loadTimeoutMs: 60_000,
      collectiveTimeoutMs: 10_000,
    },
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
    servedModelName: MODEL,
  });
  router = await startRouter({ modelDir, servedModelName: MODEL, coordinators: [coordinator.grpcAddress], host: '127.0.0.1', httpPort: 0, grpcPort: 0, maxBodyBytes: 1 << 20 });
  urls.router = `${router.httpUrl}/metrics`;
  urls.coordinator = `${coordinator.httpUrl}/metrics`;
  urls.worker = `${worker.ready.http}/metrics`;
});

after(async () => {
  await router?.shutdown(0);
  await coordinator?.shutdown(0);
  if (worker) await stopChildren([worker]);
  killTagged(tag);
});

function assertTypes(s: Scrape, where: string, expected: Record<string, string>): void {
  for (const [name, type] of Object.entries(expected)) assert.equal(s.types.get(name), type, `${where}: ${name} is a ${type}`);
}

test('each process exposes its families with their types and labels', async () => {
  const [r, c, w] = await Promise.all([scrape(urls.router), scrape(urls.coordinator), scrape(urls.worker)]);
  assertTypes(r, 'router', {
    'vllm:time_to_first_token_seconds': 'histogram',
    'vllm:inter_token_latency_seconds': 'histogram',
    'vllm:e2e_request_latency_seconds': 'histogram',
    'vllm:prompt_tokens_total': 'counter',
    'vllm:generation_tokens_total': 'counter',
    'vllm:request_success_total': 'counter',
    'm2:routing_decisions_total': 'counter',
    'm2:router_replica_ready': 'gauge',
    'm2:router_replica_load': 'gauge',
  });
  assertTypes(c, 'coordinator', {
    'vllm:num_requests_running': 'gauge',
    'vllm:num_requests_waiting': 'gauge',
    'vllm:kv_cache_usage_perc': 'gauge',
    'vllm:num_preemptions_total': 'counter',
    'vllm:prefix_cache_queries_total': 'counter',
    'vllm:prefix_cache_hits_total': 'counter',
    'vllm:request_queue_time_seconds': 'histogram',
    'vllm:cache_config_info': 'gauge',
    'm2:replica_ready': 'gauge',
    'm2:step_duration_seconds': 'histogram',
    'm2:step_forward_seconds': 'histogram',
    'm2:step_allreduce_seconds': 'histogram',
    'm2:step_batch_sequences': 'histogram',
    'm2:step_batch_tokens': 'histogram',
  });
  assertTypes(w, 'worker', { 'm2:worker_loaded': 'gauge', 'm2:worker_step_forward_seconds': 'histogram', 'm2:worker_step_allreduce_seconds': 'histogram' });
  const labels = { model_name: MODEL, replica: coordinator.grpcAddress };
  assert.equal(total(r, 'm2:router_replica_ready', labels), 1);
  assert.equal(total(c, 'm2:replica_ready', labels), 1);
  assert.equal(total(c, 'vllm:num_requests_running', labels), 0);
  // The tiny checkpoint is f32, so auto keeps an f32 cache.
  assert.equal(total(c, 'vllm:cache_config_info', { ...labels, block_size: '16', cache_dtype: 'f32' }), 1);
  assert.equal(total(w, 'm2:worker_loaded', { rank: '0' }), 1);
  // No vllm:* family is exposed by two processes (Prometheus would count it twice).
  const vllm = (s: Scrape) => [...s.types.keys()].filter((n) => n.startsWith('vllm:'));
  assert.deepEqual(vllm(r).filter((n) => vllm(c).includes(n)), []);
});

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

async function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${router.httpUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

test('counters and histograms move by what the responses report', async () => {
  const labels = { model_name: MODEL, replica: coordinator.grpcAddress };
  const [r0, c0, w0] = await Promise.all([scrape(urls.router), scrape(urls.coordinator), scrape(urls.worker)]);
  const messages = [{ role: 'system', content: 'You are a triage nurse. '.repeat(8) }, { role: 'user', content: 'Fever for three days.' }];
  const usages: Usage[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await chat({ messages, max_tokens: 4, temperature: 0 });
    assert.equal(res.status, 200);
    usages.push(((await res.json()) as { usage: Usage }).usage);
  }
  const streamed = await chat({ messages, max_tokens: 8, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  const events = (await streamed.text()).split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)) as { usage?: Usage | null });
  usages.push(events.find((e) => e.usage)!.usage!);
  const [r1, c1, w1] = await Promise.all([scrape(urls.router), scrape(urls.coordinator), scrape(urls.worker)]);
  const moved = (a: Scrape, b: Scrape, name: string, match: Record<string, string> = labels) => total(b, name, match) - total(a, name, match);

  const sum = (f: (u: Usage) => number) => usages.reduce((s, u) => s + f(u), 0);
  assert.equal(moved(r0, r1, 'vllm:prompt_tokens_total'), sum((u) => u.prompt_tokens));
  assert.equal(moved(r0, r1, 'vllm:generation_tokens_total'), sum((u) => u.completion_tokens));
  assert.equal(moved(r0, r1, 'm2:prompt_cached_tokens_total'), sum((u) => u.prompt_tokens_details.cached_tokens));
  assert.ok(sum((u) => u.prompt_tokens_details.cached_tokens) > 0, 'the repeated prompt hit the prefix cache');
  assert.equal(moved(r0, r1, 'vllm:request_success_total', { ...labels, finished_reason: 'length' }), 3);
  assert.equal(moved(r0, r1, 'vllm:time_to_first_token_seconds_count'), 3);
  assert.equal(moved(r0, r1, 'vllm:e2e_request_latency_seconds_count'), 3);
  assert.ok(moved(r0, r1, 'vllm:inter_token_latency_seconds_count') >= 7, 'the streamed request has 7 gaps between its 8 tokens');
  assert.ok(moved(r0, r1, 'vllm:e2e_request_latency_seconds_sum') > 0);
  assert.equal(moved(r0, r1, 'm2:routing_decisions_total'), 3);

  assert.equal(moved(c0, c1, 'vllm:request_queue_time_seconds_count'), 3);
  assert.ok(moved(c0, c1, 'vllm:prefix_cache_queries_total') >= sum((u) => u.prompt_tokens) - 16, 'every prompt was looked up (whole blocks)');
  assert.equal(moved(c0, c1, 'vllm:prefix_cache_hits_total'), sum((u) => u.prompt_tokens_details.cached_tokens));
  const steps = moved(c0, c1, 'm2:step_duration_seconds_count');
  assert.ok(steps >= 3 + 4 + 8 - 3, `one step per generated token at least (${steps})`);
  assert.equal(moved(c0, c1, 'm2:engine_steps_total'), steps);
  assert.equal(moved(c0, c1, 'm2:step_batch_tokens_count'), steps);
  assert.ok(moved(c0, c1, 'm2:step_batch_tokens_sum') >= sum((u) => u.prompt_tokens - u.prompt_tokens_details.cached_tokens));
  assert.equal(moved(w0, w1, 'm2:worker_step_forward_seconds_count', { rank: '0' }), steps, 'the worker saw every step');
  assert.ok(moved(w0, w1, 'm2:worker_step_forward_seconds_sum', { rank: '0' }) > 0);
});

test('gauges follow a running request and fall back when it is cancelled', async () => {
  const labels = { model_name: MODEL, replica: coordinator.grpcAddress };
  const res = await chat({ messages: [{ role: 'user', content: 'Describe sepsis management.' }], max_tokens: 4000, ignore_eos: true, stream: true });
  const reader = res.body!.getReader();
  await reader.read(); // the first event: the request is running
  const during = await scrape(urls.coordinator);
  assert.equal(total(during, 'vllm:num_requests_running', labels), 1);
  assert.ok(total(during, 'vllm:kv_cache_usage_perc', labels) > 0);
  assert.ok(total(await scrape(urls.router), 'm2:router_replica_load', labels) >= 1, 'the router counts the open stream');
  await reader.cancel();
  const deadline = Date.now() + 10_000;
  let running = 1;
  while (running !== 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    running = total(await scrape(urls.coordinator), 'vllm:num_requests_running', labels);
  }
  assert.equal(running, 0, 'the cancelled request left the running batch');
  const r = await scrape(urls.router);
  assert.ok(total(r, 'vllm:request_success_total', { ...labels, finished_reason: 'abort' }) >= 1, 'the cancelled request counts as aborted');
});
