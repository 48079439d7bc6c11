// Whether this replica can serve right now, for Stats.ready and the /ready probe. Health that lies
// is the top ops complaint (DESIGN.md), so "ready" is earned, never assumed: every rank answers
// Health (loaded, no step error), the group has not failed, and a step or a probe step (a real
// forward pass through every rank's collectives) succeeded within the freshness window. While
// idle, a probe runs every interval so a hung or dead rank turns the replica unready within
// about `freshMs`, not at the next user request. No probe is queued behind a running step (a
// long prefill): the step's own answer tells the same, and the probe would only delay the next
// step by a forward pass.
import type { WorkerGroup } from '../group/worker-group.ts';

export interface ReadinessOptions {
  /** How often ranks are asked for Health, and a probe runs when no step ran since. */
  intervalMs: number;
  /** A step or probe older than this no longer counts. */
  freshMs: number;
  /** Deadline of one Health round. */
  healthTimeoutMs: number;
}

export const DEFAULT_READINESS: ReadinessOptions = { intervalMs: 1000, freshMs: 5000, healthTimeoutMs: 2000 };

export interface ReadinessState {
  ready: boolean;
  /** Why not ready ('' when ready). */
  reason: string;
  /** A rank failed a step or probe: the group's collectives are broken for good. */
  groupFailed: boolean;
  msSinceLastSuccess: number | null;
}

/** What readiness needs of the group. */
export type ProbedGroup = Pick<WorkerGroup, 'error' | 'stepping' | 'probe' | 'health'>;

export class GroupReadiness {
  private lastProbeOk: number | null = null;
  private healthProblem = 'no Health answer yet';
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly group: ProbedGroup,
    /** Date.now() of the engine's last successful step, null before the first. */
    private readonly lastStepTime: () => number | null,
    private readonly opts: ReadinessOptions = DEFAULT_READINESS,
  ) {}

  /** Runs the first probe and Health round now and resolves when they settled; later ones run every interval. */
  async start(): Promise<void> {
    await this.probe();
    await this.tick();
  }

  get state(): ReadinessState {
    const lastStep = this.lastStepTime();
    const last = Math.max(lastStep ?? -Infinity, this.lastProbeOk ?? -Infinity);
    const age = Number.isFinite(last) ? Date.now() - last : null;
    const failure = this.group.error;
    let reason = '';
    if (failure) reason = `the worker group failed: ${failure.message}`;
    else if (this.healthProblem) reason = this.healthProblem;
    else if (age === null || age > this.opts.freshMs) reason = `no step or probe succeeded in the last ${this.opts.freshMs} ms`;
    return { ready: reason === '', reason, groupFailed: failure !== null, msSinceLastSuccess: age };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.group.error) return;
    const lastSuccess = Math.max(this.lastStepTime() ?? 0, this.lastProbeOk ?? 0);
    if (!this.probing && !this.group.stepping && Date.now() - lastSuccess >= this.opts.intervalMs) void this.probe();
    await this.checkHealth();
    if (this.stopped || this.group.error) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  private async probe(): Promise<void> {
    this.probing = true;
    try {
      await this.group.probe();
      this.lastProbeOk = Date.now();
    } catch {
      // The group recorded the failure; `state` reports it.
    } finally {
      this.probing = false;
    }
  }

  private async checkHealth(): Promise<void> {
    try {
      const answers = await this.group.health(this.opts.healthTimeoutMs);
      const bad = answers.findIndex((h) => !h.loaded || h.lastError !== '');
      this.healthProblem =
        bad < 0 ? '' : `rank ${bad} ${answers[bad].loaded ? `reports a step error: ${answers[bad].lastError}` : 'has no model loaded'}`;
    } catch (err) {
      const e = err as { details?: string; message?: string };
      this.healthProblem = `a rank does not answer Health: ${e.details || e.message || String(err)}`;
    }
  }
}
