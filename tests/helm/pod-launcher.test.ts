// The worker pods' entry point (files/pod-launcher.sh, as rendered into the chart's ConfigMap):
// rank and group from the ordinal, the coordinator only in rank-0 pods with its group's worker
// addresses, whole-pod failure when one process dies, clean stop on SIGTERM, and the probes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { parseCommandArgs, type Command } from '../../bin/command.ts';
import { coordinatorCommand } from '../../bin/commands/coordinator.ts';
import { workerCommand } from '../../bin/commands/worker.ts';
import { findObject, renderChart } from './render.ts';

// Stands in for the `m2` CLI: logs its command line, exits with FAKE_EXIT_<ROLE> when set
// (after a moment, so its sibling has started), otherwise runs until SIGTERM, which it logs.
const FAKE_M2 = `#!/bin/bash
role="$1"
trap 'echo "term $role" >> "$FAKE_LOG"; exit 0' TERM
echo "start $*" >> "$FAKE_LOG"
code_var="FAKE_EXIT_\${role^^}"
if [[ -n "\${!code_var:-}" ]]; then sleep 0.3; exit "\${!code_var}"; fi
while :; do sleep 0.05; done
`;

let dir = '';
let script = '';
let log = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'm2-launcher-'));
  const cm = findObject<IConfigMap>(renderChart({}), 'ConfigMap', '-launcher');
  script = join(dir, 'pod-launcher.sh');
  writeFileSync(script, cm.data?.['pod-launcher.sh'] ?? '');
  writeFileSync(join(dir, 'm2'), FAKE_M2);
  chmodSync(join(dir, 'm2'), 0o755);
  log = join(dir, 'calls.log');
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function podEnv(podName: string, tp: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    FAKE_LOG: log,
    POD_NAME: podName,
    POD_NAMESPACE: 'llm',
    M2_TP: String(tp),
    M2_MODEL: '/models/m2',
    M2_DEVICE: 'cuda',
    GROUP_STATEFULSET: 'm2-worker',
    GROUP_SERVICE: 'm2-group',
    WORKER_PORT: '50071',
    WORKER_HEALTH_PORT: '9071',
    COORDINATOR_PORT: '50061',
    COORDINATOR_METRICS_PORT: '9061',
    ...extra,
  };
}

function launch(args: string[], env: Record<string, string>, onStart?: (pid: number) => void): Promise<Run> {
  rmSync(log, { force: true });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (onStart && child.pid) onStart(child.pid);
  });
}

function calls(): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a rank>0 pod runs only its worker, rank = ordinal mod TP', async () => {
  const r = await launch(['run'], podEnv('m2-worker-6', 4, { FAKE_EXIT_WORKER: '0' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pod m2-worker-6 is rank 2 of group 1 \(tp 4\)/);
  assert.deepEqual(calls(), ['start worker --host 0.0.0.0 --rank 2 --port 50071 --health-port 9071 --device cuda']);
});

test('a rank-0 pod also runs the coordinator of its group, pointed at the group\'s pods', async () => {
  let pid = 0;
  const run = launch(['run'], podEnv('m2-worker-4', 4), (p) => (pid = p));
  await until(() => calls().length === 2, 'coordinator and worker to start');
  const started = calls().sort();
  const hosts = [4, 5, 6, 7].map((o) => `m2-worker-${o}.m2-group.llm.svc:50071`).join(',');
  assert.deepEqual(started, [
    `start coordinator --model /models/m2 --tp 4 --port 50061 --metrics-port 9061 --workers ${hosts} --advertise-host m2-worker-4.m2-group.llm.svc`,
    'start worker --host 0.0.0.0 --rank 0 --port 50071 --health-port 9071 --device cuda',
  ]);
  // Every flag the launcher passes is one the real command accepts (its parser is strict).
  const commands: Record<string, Command> = { coordinator: coordinatorCommand, worker: workerCommand };
  for (const line of started) {
    const [, name, ...argv] = line.split(' ');
    assert.doesNotThrow(() => parseCommandArgs(commands[name], argv, {}), line);
  }
  assert.throws(() => parseCommandArgs(workerCommand, ['--tp', '4'], {}), /--tp/, 'the parser rejects a flag the worker lacks');
  process.kill(pid, 'SIGTERM');
  const r = await run;
  assert.equal(r.code, 0, `SIGTERM is a clean stop: ${r.stderr}`);
  assert.deepEqual(calls().filter((l) => l.startsWith('term')).sort(), ['term coordinator', 'term worker']);
});

test('TP=1: every pod is rank 0 of its own group', async () => {
  const r = await launch(['run'], podEnv('m2-worker-3', 1, { FAKE_EXIT_COORDINATOR: '5' }));
  assert.match(r.stdout, /rank 0 of group 3 \(tp 1\)/);
  assert.ok(calls().some((l) => l.includes('--workers m2-worker-3.m2-group.llm.svc:50071 ')), calls().join('\n'));
  assert.equal(r.code, 5);
});

test('when one process of a rank-0 pod exits, the other is stopped and the container fails', async () => {
  const r = await launch(['run'], podEnv('m2-worker-0', 2, { FAKE_EXIT_COORDINATOR: '3' }));
  assert.equal(r.code, 3);
  assert.match(r.stderr, /a process of rank-0 pod m2-worker-0 exited \(status 3\); stopping the pod/);
  assert.ok(calls().includes('term worker'), calls().join('\n'));
  const clean = await launch(['run'], podEnv('m2-worker-0', 2, { FAKE_EXIT_WORKER: '0' }));
  assert.equal(clean.code, 1, 'an unexpected exit 0 still fails the pod');
  assert.ok(calls().includes('term coordinator'));
});

test('bad pod environment: exit 2 with the reason', async () => {
  const foreign = await launch(['run'], podEnv('other-7', 2));
  assert.equal(foreign.code, 2);
  assert.match(foreign.stderr, /POD_NAME 'other-7' is not a pod of StatefulSet 'm2-worker'/);
  const missing = podEnv('m2-worker-1', 2);
  delete missing.GROUP_SERVICE;
  const r = await launch(['run'], missing);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /GROUP_SERVICE is not set/);
  const badTp = await launch(['run'], podEnv('m2-worker-1', 0));
  assert.equal(badTp.code, 2);
  assert.match(badTp.stderr, /M2_TP must be a positive integer/);
  const usage = await launch(['probe', 'deep'], podEnv('m2-worker-1', 2));
  assert.equal(usage.code, 2);
  assert.deepEqual(calls(), [], 'nothing was started');
});

function healthServer(ready: boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const ok = req.url === '/health' || (req.url === '/ready' && ready);
    res.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'not ready');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: Server) => String((s.address() as AddressInfo).port);
const close = (s: Server) => new Promise((r) => s.close(r));

test('probes: rank>0 pods check their worker; rank-0 pods check the coordinator too', async () => {
  const worker = await healthServer(false);
  const coordinator = await healthServer(true);
  const ports = { WORKER_HEALTH_PORT: portOf(worker), COORDINATOR_METRICS_PORT: portOf(coordinator) };
  try {
    assert.equal((await launch(['probe', 'health'], podEnv('m2-worker-1', 2, ports))).code, 0);
    const notReady = await launch(['probe', 'ready'], podEnv('m2-worker-1', 2, ports));
    assert.equal(notReady.code, 1);
    assert.match(notReady.stderr, new RegExp(`worker on :${ports.WORKER_HEALTH_PORT} fails /ready`));
    assert.equal((await launch(['probe', 'health'], podEnv('m2-worker-2', 2, ports))).code, 0);
    await close(coordinator);
    const dead = await launch(['probe', 'health'], podEnv('m2-worker-2', 2, ports));
    assert.equal(dead.code, 1, 'rank 0 is not alive without its coordinator');
    assert.match(dead.stderr, new RegExp(`coordinator on :${ports.COORDINATOR_METRICS_PORT} fails /health`));
    assert.equal((await launch(['probe', 'health'], podEnv('m2-worker-3', 2, ports))).code, 0, 'rank 1 does not need it');
  } finally {
    await close(worker);
    if (coordinator.listening) await close(coordinator);
  }
});
