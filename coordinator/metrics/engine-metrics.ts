// The coordinator's metrics: engine state read from Engine.stats() at scrape time, queue time from
// each request's final response, and per-step timings taken by wrapping the TP group's executor
// (so the engine itself stays free of metrics code).
import { Registry } from 'prom-client';
import type { EngineGenerateResponse__Output } from '../../proto/gen/m2/v1/EngineGenerateResponse.ts';
import type { StepRequest__Output } from '../../proto/gen/m2/v1/StepRequest.ts';
import type { StepResponse__Output } from '../../proto/gen/m2/v1/StepResponse.ts';
import type { StepExecutor } from '../engine/executor.ts';
import { engineMetricFamilies, type EngineMetricFamilies, type EngineMetricSources } from './metric-families.ts';

const NS_PER_S = 1e9;

export class EngineMetrics {
  readonly registry = new Registry();
  private readonly families: EngineMetricFamilies;

  constructor(private readonly sources: EngineMetricSources) {
    this.families = engineMetricFamilies(this.registry, sources);
  }

  /** Reads the timings of a request's final message (the one with usage); other messages are ignored. */
  observeResponse(message: EngineGenerateResponse__Output): void {
    if (message.usage) this.families.queueTime.observe(this.sources.labels(), message.queueSeconds);
  }

  observeStep(request: StepRequest__Output, response: StepResponse__Output, seconds: number): void {
    const labels = this.sources.labels();
    const { families } = this;
    families.stepDuration.observe(labels, seconds);
    families.batchSequences.observe(labels, request.sequences.length);
    families.batchTokens.observe(labels, request.tokenIds.length);
    if (response.timings) {
      families.stepForward.observe(labels, Number(response.timings.forwardNs) / NS_PER_S);
      families.stepAllReduce.observe(labels, Number(response.timings.collectiveNs) / NS_PER_S);
    }
  }
}

/** A StepExecutor that times every step of the one it wraps. */
export class MeteredExecutor implements StepExecutor {
  constructor(
    private readonly inner: StepExecutor,
    private readonly metrics: EngineMetrics,
  ) {}

  async step(request: StepRequest__Output): Promise<StepResponse__Output> {
    const started = performance.now();
    const response = await this.inner.step(request);
    this.metrics.observeStep(request, response, (performance.now() - started) / 1000);
    return response;
  }

  release(seqIds: readonly number[]): Promise<void> {
    return this.inner.release(seqIds);
  }
}
