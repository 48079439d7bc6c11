// Every rendered object checked against the Kubernetes API's own OpenAPI schemas (the JSON
// schemas kubernetes-models generates from them). `kubectl apply --dry-run=client` cannot do this
// offline: even in client mode it asks an API server for discovery and the OpenAPI document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderChart, type KubeObject } from './render.ts';
import { VALUE_SETS } from './value-sets.ts';

type ModelClass = new (data: unknown) => { validate(): void };

/** Module of kubernetes-models that holds the model of `apiVersion` / `kind`. */
function modelPath(o: KubeObject): string {
  const [groupOrVersion, version] = o.apiVersion.split('/');
  return version === undefined ? `kubernetes-models/v1/${o.kind}` : `kubernetes-models/${groupOrVersion}/${version}/${o.kind}`;
}

async function validateObject(o: KubeObject): Promise<void> {
  const module = (await import(modelPath(o))) as Record<string, ModelClass>;
  const Model = module[o.kind];
  assert.ok(Model, `no model for ${o.apiVersion} ${o.kind}`);
  try {
    new Model(o).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
  }
}

for (const [name, values] of Object.entries(VALUE_SETS)) {
  test(`rendered objects match the Kubernetes schemas: ${name}`, async () => {
    const objects = renderChart(values);
    const custom = objects.filter((o) => o.apiVersion.startsWith('keda.sh/'));
    for (const o of objects.filter((x) => !custom.includes(x))) await validateObject(o);
    assert.deepEqual(custom.map((o) => o.kind), values.keda ? ['ScaledObject'] : []);
    for (const o of objects) {
      assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'm2', `${o.kind}/${o.metadata.name} carries the release label`);
      assert.ok(o.metadata.name.length <= 63, `${o.metadata.name} is a valid object name`);
    }
  });
}

test('the schema check catches a wrong type, so the passes above mean something', async () => {
  const [sts] = renderChart({}).filter((o) => o.kind === 'StatefulSet');
  const broken = structuredClone(sts) as KubeObject & { spec: { replicas: unknown } };
  broken.spec.replicas = 'two';
  await assert.rejects(validateObject(broken), /replicas/);
});
