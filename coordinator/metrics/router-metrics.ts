// The router's metrics: request latency and token counts as the user sees them, per replica that
// served the request, plus routing decisions and each replica's readiness and load. The gateway
// starts one RequestObservation per request and feeds it every streamed update.
import { Registry } from 'prom-client';
import { routerMetricFamilies, type RouterMetricFamilies, type RouterMetricSources } from './metric-families.ts';

/** The parts of a streamed update the metrics read (the router's RunUpdate has this shape). */
export interface ObservedUpdate {
  choices: readonly { tokenIds: readonly number[]; finishReason?: string }[];
  usage?: { promptTokens: number; completionTokens: number; cachedTokens: number };
}

export class RouterMetrics {
  readonly registry = new Registry();
  private readonly families: RouterMetricFamilies;

  constructor(private readonly sources: RouterMetricSources) {
    this.families = routerMetricFamilies(this.registry, sources);
  }

  recordDecision(replica: string, reason: string): void {
    this.families.routingDecisions.inc({ model_name: this.sources.modelName, replica, reason });
  }

  /** Starts timing a request that reached the router now; `replica` names the one serving it. */
  startRequest(replica: () => string): RequestObservation {
    return new RequestObservation(this.families, this.sources.modelName, replica);
  }
}

export class RequestObservation {
  private readonly startedAt = performance.now();
  private lastTokenAt: number | undefined;
  private ended = false;

  constructor(
    private readonly families: RouterMetricFamilies,
    private readonly modelName: string,
    private readonly replica: () => string,
  ) {}

  private labels(): { model_name: string; replica: string } {
    return { model_name: this.modelName, replica: this.replica() };
  }

  update(update: ObservedUpdate): void {
    const now = performance.now();
    const labels = this.labels();
    if (update.choices.some((c) => c.tokenIds.length > 0)) {
      if (this.lastTokenAt === undefined) this.families.timeToFirstToken.observe(labels, (now - this.startedAt) / 1000);
      else this.families.interTokenLatency.observe(labels, (now - this.lastTokenAt) / 1000);
      this.lastTokenAt = now;
    }
    for (const choice of update.choices) {
      if (choice.finishReason) this.families.requestSuccess.inc({ ...labels, finished_reason: choice.finishReason });
    }
    if (update.usage) {
      this.families.promptTokens.inc(labels, update.usage.promptTokens);
      this.families.generationTokens.inc(labels, update.usage.completionTokens);
      this.families.cachedPromptTokens.inc(labels, update.usage.cachedTokens);
    }
  }

  /** The stream ended (normally or not); records end-to-end latency once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.families.e2eLatency.observe(this.labels(), (performance.now() - this.startedAt) / 1000);
  }

  /** The request failed with an error `code` (no end-to-end latency: it never completed). */
  failed(code: string): void {
    if (this.ended) return;
    this.ended = true;
    this.families.requestFailures.inc({ ...this.labels(), code });
  }
}
