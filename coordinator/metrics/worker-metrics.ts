// A worker rank's metrics: whether it holds its shard, and its own step timings (forward and
// collective time per step or probe), so a slow rank shows up on its own health port.
import { Registry } from 'prom-client';
import type { StepTimings } from '../../proto/gen/m2/v1/StepTimings.ts';
import { workerMetricFamilies, type WorkerMetricFamilies, type WorkerMetricSources } from './metric-families.ts';

const NS_PER_S = 1e9;

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly families: WorkerMetricFamilies;

  constructor(private readonly sources: WorkerMetricSources) {
    this.families = workerMetricFamilies(this.registry, sources);
  }

  observeStep(timings: StepTimings | null | undefined): void {
    if (!timings) return;
    const labels = { rank: this.sources.rank };
    this.families.stepForward.observe(labels, Number(timings.forwardNs) / NS_PER_S);
    this.families.stepAllReduce.observe(labels, Number(timings.collectiveNs) / NS_PER_S);
  }

  stepFailed(): void {
    this.families.stepFailures.inc({ rank: this.sources.rank });
  }
}
