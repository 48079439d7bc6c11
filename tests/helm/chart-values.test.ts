// `helm lint --strict` over every value set, and values.schema.json (plus the chart's own
// cross-field checks) rejecting bad values with a message that names the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_DIR, helmLint, helmTemplate, renderChart, type ChartValues } from './render.ts';
import { M2_32B_BF16, M2_32B_GPTQ_24GB, VALUE_SETS } from './value-sets.ts';

test('helm lint --strict passes for every value set and every TP size', () => {
  const sets: [string, ChartValues][] = [
    ...Object.entries(VALUE_SETS),
    ...[1, 2, 4, 8].map((tp): [string, ChartValues] => [`tp ${tp}`, { tensorParallelSize: tp, replicas: 2 }]),
  ];
  for (const [name, values] of sets) {
    const r = helmLint(values);
    assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, name);
  }
});

const REJECTED: [string, ChartValues, RegExp][] = [
  ['TP 3 does not divide the KV heads', { tensorParallelSize: 3 }, /tensorParallelSize.*one of 1, 2, 4, 8/],
  ['TP 16 is more than the KV heads', { tensorParallelSize: 16 }, /tensorParallelSize/],
  ['TP as a string', { tensorParallelSize: '4' }, /tensorParallelSize/],
  ['zero replicas', { replicas: 0 }, /\/replicas.*minimum/],
  ['fractional replicas', { replicas: 1.5 }, /\/replicas/],
  ['unknown quantization', { engine: { quantization: 'int8' } }, /quantization/],
  ['speculation neither on nor off', { engine: { speculative: 'maybe' } }, /speculative/],
  ['unknown device', { worker: { device: 'rocm' } }, /device/],
  ['zero GPUs per pod', { worker: { gpusPerPod: 0 } }, /gpusPerPod/],
  ['misspelt top-level key', { tensorParalelSize: 2 }, /tensorParalelSize.*not allowed/],
  ['misspelt engine key', { engine: { maxNumSeq: 8 } }, /maxNumSeq.*not allowed/],
  ['pvc source without a claim', { model: { source: 'pvc' } }, /claimName/],
  ['hostPath source with a relative path', { model: { source: 'hostPath', hostPath: { path: 'data/m2' } } }, /hostPath\/path/],
  ['uri source without a URL', { model: { source: 'uri' } }, /uri/],
  ['makeModel preset without tokenizer files (the router reads them)', { model: { source: 'makeModel', makeModel: { preset: 'micro' } } }, /preset/],
  ['uri that is not http(s)', { model: { source: 'uri', uri: { uri: 's3://bucket/m2.tar' } } }, /uri/],
  ['KV cache fraction above 1', { engine: { kvCacheMemory: '1.5' } }, /kvCacheMemory/],
  ['shm size that is not a quantity', { worker: { shmSize: 'lots' } }, /shmSize/],
  ['port out of range', { router: { ports: { http: 70000 } } }, /http/],
  ['NATS URL of another scheme', { nats: { enabled: false, url: 'http://nats:4222' } }, /nats\/url/],
  ['KEDA minimum above maximum', { keda: { enabled: true, minReplicas: 3, maxReplicas: 2 } }, /keda.minReplicas must not exceed keda.maxReplicas/],
  ['router HPA minimum above maximum', { router: { autoscaling: { minReplicas: 5, maxReplicas: 2 } } }, /router.autoscaling.minReplicas/],
  ['worker and coordinator on one port', { worker: { ports: { coordinatorMetrics: 9071 } } }, /worker.ports must be four different ports/],
];

for (const [name, values, message] of REJECTED) {
  test(`rejected: ${name}`, () => {
    const r = helmTemplate(values);
    assert.notEqual(r.status, 0, `helm rendered ${JSON.stringify(values)}`);
    assert.match(r.stderr, message);
  });
}

test('accepted edge values: KV cache as bytes or a fraction, speculation as a boolean, every model source', () => {
  const accepted: ChartValues[] = [
    { engine: { kvCacheMemory: 21474836480 } },
    { engine: { kvCacheMemory: '21474836480' } },
    { engine: { kvCacheMemory: 0.85 } },
    { engine: { speculative: true } },
    { model: { source: 'hostPath', hostPath: { path: '/mnt/m2' } } },
    { model: { source: 'uri', uri: { uri: 'http://files.local/m2.tar' } } },
    { model: { source: 'makeModel', makeModel: { preset: 'small', seed: 1 } } },
    { model: { source: 'uri', uri: { uri: 'http://files.local/m2.tar', routerSizeLimit: '256Mi' } } },
  ];
  for (const values of accepted) {
    const r = helmTemplate(values);
    assert.equal(r.status, 0, `${JSON.stringify(values)}: ${r.stderr}`);
  }
});

test('the README\'s M2-32B values are the tested value sets', () => {
  const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 2);
  assert.deepEqual(renderChart(blocks[0]), renderChart(M2_32B_BF16), 'bf16 on 2 x 80 GB');
  assert.deepEqual(renderChart(blocks[1]), renderChart(M2_32B_GPTQ_24GB), 'GPTQ-Int4 on one 24 GB card');
});
