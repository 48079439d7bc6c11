// Every Prometheus metric family the cluster exposes, in one place, so names, types, labels and
// buckets stay consistent and later issues add theirs here. Names follow vLLM v1 where a user
// would compare (DESIGN.md), our own extras are `m2:`. Who measures what:
//  - the router owns request latency and token counts as the user sees them (TTFT, inter-token,
//    end to end, prompt/generation tokens, finished requests), per replica that served them;
//  - the coordinator owns engine state (running, waiting, KV usage, preemptions, prefix cache,
//    queue time) and step timings (step latency, batch size, all-reduce time);
//  - a worker owns its own rank's step timings.
// So no vllm:* name is counted by two processes.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from '../engine/engine.ts';

/** Labels on every router and coordinator family: the served model and the replica (coordinator address). */
export const REPLICA_LABELS = ['model_name', 'replica'] as const;
export type ReplicaLabel = (typeof REPLICA_LABELS)[number];

// vLLM v1's buckets, so dashboards built for vLLM read ours unchanged.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const REQUEST_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
/** Step and all-reduce times: from a few microseconds (small all-reduces) to seconds (long prefills). */
const STEP_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** What the router's scrape-time gauges read: each replica as the router sees it. */
export interface RouterMetricSources {
  modelName: string;
  replicas(): readonly { address: string; ready: boolean; load: number }[];
}

export function routerMetricFamilies(registry: Registry, sources: RouterMetricSources) {
  const registers = [registry];
  const perReplica = (gauge: Gauge<ReplicaLabel>, value: (r: ReturnType<RouterMetricSources['replicas']>[number]) => number) => {
    gauge.reset();
    for (const r of sources.replicas()) gauge.set({ model_name: sources.modelName, replica: r.address }, value(r));
  };
  return {
    timeToFirstToken: new Histogram({ name: 'vllm:time_to_first_token_seconds', help: 'Time from the router admitting the request (tokenized, validated) to its first streamed token.', labelNames: REPLICA_LABELS, buckets: TTFT_BUCKETS, registers }),
    interTokenLatency: new Histogram({ name: 'vllm:inter_token_latency_seconds', help: 'Time between successive streamed updates carrying tokens, per update.', labelNames: REPLICA_LABELS, buckets: ITL_BUCKETS, registers }),
    e2eLatency: new Histogram({ name: 'vllm:e2e_request_latency_seconds', help: 'Time from the router admitting the request to its last streamed update.', labelNames: REPLICA_LABELS, buckets: REQUEST_BUCKETS, registers }),
    promptTokens: new Counter({ name: 'vllm:prompt_tokens_total', help: 'Prompt tokens of finished requests.', labelNames: REPLICA_LABELS, registers }),
    generationTokens: new Counter({ name: 'vllm:generation_tokens_total', help: 'Generated tokens, summed over choices.', labelNames: REPLICA_LABELS, registers }),
    requestSuccess: new Counter({ name: 'vllm:request_success_total', help: 'Finished choices by finish reason (stop, length, abort).', labelNames: [...REPLICA_LABELS, 'finished_reason'] as const, registers }),
    cachedPromptTokens: new Counter({ name: 'm2:prompt_cached_tokens_total', help: 'Prompt tokens the replica served from its prefix cache (routing effectiveness).', labelNames: REPLICA_LABELS, registers }),
    requestFailures: new Counter({ name: 'm2:request_failures_total', help: 'Requests that ended with an error, by error code.', labelNames: [...REPLICA_LABELS, 'code'] as const, registers }),
    routingDecisions: new Counter({ name: 'm2:routing_decisions_total', help: 'Replica choices by reason: session affinity, prefix match, or load alone.', labelNames: [...REPLICA_LABELS, 'reason'] as const, registers }),
    replicaReady: new Gauge({
      name: 'm2:router_replica_ready',
      help: '1 while the router routes to the replica (recent Stats said ready, no call failed since).',
      labelNames: REPLICA_LABELS,
      registers,
      collect() {
        perReplica(this, (r) => (r.ready ? 1 : 0));
      },
    }),
    replicaLoad: new Gauge({
      name: 'm2:router_replica_load',
      help: 'Requests running or waiting on the replica as the router sees it (its own open streams now, plus the other routers\' part of the last Stats count).',
      labelNames: REPLICA_LABELS,
      registers,
      collect() {
        perReplica(this, (r) => r.load);
      },
    }),
  };
}

/** What the coordinator's scrape-time metrics read: the engine's counters and the replica's readiness. */
export interface EngineMetricSources {
  /** Read at every observation: the replica's name is known only once its gRPC port is bound. */
  labels(): Record<ReplicaLabel, string>;
  stats(): EngineStats;
  ready(): boolean;
  /** Element type of the KV cache as the ranks allocated it (ShardInfoResponse.kv_dtype). */
  kvCacheDtype(): string;
}

export function engineMetricFamilies(registry: Registry, sources: EngineMetricSources) {
  const registers = [registry];
  const gauge = (name: string, help: string, value: (s: EngineStats) => number) =>
    new Gauge({ name, help, labelNames: REPLICA_LABELS, registers, collect() { this.set(sources.labels(), value(sources.stats())); } });
  // The engine keeps the totals; each counter mirrors its total at scrape time.
  const counter = (name: string, help: string, value: (s: EngineStats) => number) =>
    new Counter({ name, help, labelNames: REPLICA_LABELS, registers, collect() { this.reset(); this.inc(sources.labels(), value(sources.stats())); } });
  return {
    numRunning: gauge('vllm:num_requests_running', 'Sequences in the running batch.', (s) => s.numRunning),
    numWaiting: gauge('vllm:num_requests_waiting', 'Sequences waiting for admission.', (s) => s.numWaiting),
    kvCacheUsage: gauge('vllm:kv_cache_usage_perc', 'Fraction of KV cache blocks in use (0..1).', (s) => s.kvCacheUsage),
    preemptions: counter('vllm:num_preemptions_total', 'Sequences preempted (recomputed later) for lack of KV blocks.', (s) => s.numPreemptions),
    prefixCacheQueries: counter('vllm:prefix_cache_queries_total', 'Prompt tokens looked up in the prefix cache.', (s) => s.prefixCacheQueryTokens),
    prefixCacheHits: counter('vllm:prefix_cache_hits_total', 'Prompt tokens found in the prefix cache.', (s) => s.prefixCacheHitTokens),
    steps: counter('m2:engine_steps_total', 'Engine steps run on the TP group.', (s) => s.numSteps),
    queueTime: new Histogram({ name: 'vllm:request_queue_time_seconds', help: 'Time a request waited before its first step.', labelNames: REPLICA_LABELS, buckets: REQUEST_BUCKETS, registers }),
    cacheConfig: new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Always 1: the KV cache configuration in the labels (num_gpu_blocks is vLLM\'s name for the blocks per rank, CPU ranks included).',
      labelNames: [...REPLICA_LABELS, 'block_size', 'cache_dtype', 'num_gpu_blocks'] as const,
      registers,
      collect() {
        const s = sources.stats();
        this.reset();
        this.set({ ...sources.labels(), block_size: String(s.blockSize), cache_dtype: sources.kvCacheDtype(), num_gpu_blocks: String(s.numKvBlocks) }, 1);
      },
    }),
    ready: new Gauge({
      name: 'm2:replica_ready',
      help: '1 while the replica is ready (all ranks healthy, a step or probe succeeded recently).',
      labelNames: REPLICA_LABELS,
      registers,
      collect() {
        this.set(sources.labels(), sources.ready() ? 1 : 0);
      },
    }),
    stepDuration: new Histogram({ name: 'm2:step_duration_seconds', help: 'Wall time of one engine step on the TP group, as the coordinator waits for it.', labelNames: REPLICA_LABELS, buckets: STEP_BUCKETS, registers }),
    stepForward: new Histogram({ name: 'm2:step_forward_seconds', help: 'Native forward time of one step on the slowest rank.', labelNames: REPLICA_LABELS, buckets: STEP_BUCKETS, registers }),
    stepAllReduce: new Histogram({ name: 'm2:step_allreduce_seconds', help: 'Time inside collectives during one step on the slowest rank.', labelNames: REPLICA_LABELS, buckets: STEP_BUCKETS, registers }),
    batchSequences: new Histogram({ name: 'm2:step_batch_sequences', help: 'Sequences in one step.', labelNames: REPLICA_LABELS, buckets: BATCH_BUCKETS, registers }),
    batchTokens: new Histogram({ name: 'm2:step_batch_tokens', help: 'Tokens in one step (prefill chunks and decodes).', labelNames: REPLICA_LABELS, buckets: BATCH_BUCKETS, registers }),
  };
}

/** What a worker's scrape-time metrics read. */
export interface WorkerMetricSources {
  rank: string;
  loaded(): boolean;
}

export function workerMetricFamilies(registry: Registry, sources: WorkerMetricSources) {
  const registers = [registry];
  return {
    loaded: new Gauge({
      name: 'm2:worker_loaded',
      help: '1 once this rank holds its weight shard.',
      labelNames: ['rank'] as const,
      registers,
      collect() {
        this.set({ rank: sources.rank }, sources.loaded() ? 1 : 0);
      },
    }),
    stepForward: new Histogram({ name: 'm2:worker_step_forward_seconds', help: 'Native forward time of one step on this rank.', labelNames: ['rank'] as const, buckets: STEP_BUCKETS, registers }),
    stepAllReduce: new Histogram({ name: 'm2:worker_step_allreduce_seconds', help: 'Time inside collectives during one step on this rank.', labelNames: ['rank'] as const, buckets: STEP_BUCKETS, registers }),
    stepFailures: new Counter({ name: 'm2:worker_step_failures_total', help: 'Steps that failed on this rank.', labelNames: ['rank'] as const, registers }),
  };
}

export type RouterMetricFamilies = ReturnType<typeof routerMetricFamilies>;
export type EngineMetricFamilies = ReturnType<typeof engineMetricFamilies>;
export type WorkerMetricFamilies = ReturnType<typeof workerMetricFamilies>;
