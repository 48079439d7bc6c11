// GroupReadiness against a scripted group: an idle group is probed every interval, but no probe
// is queued while a step runs (a long prefill) — the step's answer says the same, and a probe
// queued behind it would delay the next step by a forward pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupReadiness, type ProbedGroup } from '../../coordinator/service/readiness.ts';

test('probes run while idle, never while a step is in flight', async () => {
  let probes = 0;
  const group: ProbedGroup & { stepping: boolean } = {
    error: null,
    stepping: false,
    probe: async () => void probes++,
    health: async () => [{ loaded: true, lastError: '', msSinceLastStep: 0 }],
  };
  // No step has succeeded for a long time: every tick wants a probe.
  const readiness = new GroupReadiness(group, () => Date.now() - 60_000, { intervalMs: 10, freshMs: 5000, healthTimeoutMs: 100 });
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    await readiness.start();
    await wait(100);
    assert.ok(probes >= 3, `idle: ${probes} probes in 100 ms`);
    group.stepping = true;
    await wait(20); // a tick that started before may still finish its probe
    const during = probes;
    await wait(150);
    assert.equal(probes, during, 'no probe while a step is in flight');
    assert.equal(readiness.state.ready, true, 'fresh from the last probe');
    group.stepping = false;
    await wait(100);
    assert.ok(probes > during, 'idle again: probing resumes');
  } finally {
    readiness.stop();
  }
});
