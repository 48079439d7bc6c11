// What `helm template` renders for several value sets: GPU count, groups, probes, ports, env,
// /dev/shm, model volume, NetworkPolicy and PDB selectors, RBAC, autoscaling, the test hook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IService } from 'kubernetes-models/v1/Service';
import { findObject, helmNotes, NAMESPACE, renderChart, type ChartValues, type KubeObject } from './render.ts';
import { M2_32B_BF16, M2_32B_GPTQ_24GB, VALUE_SETS } from './value-sets.ts';

interface ScaledObject {
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicaCount: number;
    maxReplicaCount: number;
    triggers: { type: string; metricType: string; metadata: { query: string; threshold: string } }[];
  };
}

function envOf(c: IContainer): Record<string, string> {
  return Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
}

function only<T>(items: T[] | undefined, what: string): T {
  assert.equal(items?.length, 1, `expected exactly one ${what}`);
  return items[0];
}

function workerOf(objects: KubeObject[]): { sts: IStatefulSet; c: IContainer } {
  const sts = findObject<IStatefulSet>(objects, 'StatefulSet', '-worker');
  return { sts, c: only(sts.spec?.template.spec?.containers, 'worker container') };
}

function routerOf(objects: KubeObject[]): { dep: IDeployment; c: IContainer } {
  const dep = findObject<IDeployment>(objects, 'Deployment', '-router');
  return { dep, c: only(dep.spec?.template.spec?.containers, 'router container') };
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

test('TP=4 x 2 groups: 8 worker pods with one GPU each, Parallel start, in-place rolling updates', () => {
  const objects = renderChart({ tensorParallelSize: 4, replicas: 2 });
  const { sts, c } = workerOf(objects);
  assert.equal(sts.spec?.replicas, 8);
  assert.equal(sts.spec?.podManagementPolicy, 'Parallel');
  assert.deepEqual(sts.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.equal(c.resources?.limits?.['nvidia.com/gpu'], 1);
  assert.equal(envOf(c).M2_TP, '4');
  assert.equal(envOf(c).M2_DEVICE, 'cuda');
  assert.match(c.image ?? '', /^m2-cluster:0\.1\.0-cuda$/);
  const kinds = objects.map((o) => o.kind).sort();
  assert.deepEqual(kinds, ['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'NetworkPolicy',
    'NetworkPolicy', 'Pod', 'PodDisruptionBudget', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'Service', 'Service',
    'ServiceAccount', 'StatefulSet']);
});

test('GPUs requested = TP x groups x gpusPerPod for every TP size; none on the CPU backend', () => {
  for (const tp of [1, 2, 4, 8]) {
    for (const groups of [1, 3]) {
      const { sts, c } = workerOf(renderChart({ tensorParallelSize: tp, replicas: groups }));
      assert.equal((sts.spec?.replicas ?? 0) * Number(c.resources?.limits?.['nvidia.com/gpu']), tp * groups, `tp ${tp} groups ${groups}`);
    }
  }
  const { sts, c } = workerOf(renderChart({ tensorParallelSize: 2, replicas: 2, worker: { gpusPerPod: 2 } }));
  assert.equal((sts.spec?.replicas ?? 0) * Number(c.resources?.limits?.['nvidia.com/gpu']), 8);
  const cpu = workerOf(renderChart(VALUE_SETS['tp2 x 3 groups, cpu, hostPath, no nats']));
  assert.equal(cpu.sts.spec?.replicas, 6);
  assert.equal(cpu.c.resources?.limits?.['nvidia.com/gpu'], undefined);
  assert.equal(envOf(cpu.c).M2_DEVICE, 'cpu');
  assert.match(cpu.c.image ?? '', /-cpu$/);
});

test('worker probes: startup 10 s x 60, liveness and readiness without initial delay, via the launcher on the health ports', () => {
  const { c } = workerOf(renderChart({}));
  const launcher = ['/bin/bash', '/etc/m2/pod-launcher.sh'];
  assert.deepEqual(c.startupProbe?.exec?.command, [...launcher, 'probe', 'health']);
  assert.equal(c.startupProbe?.periodSeconds, 10);
  assert.equal(c.startupProbe?.failureThreshold, 60);
  assert.deepEqual(c.livenessProbe?.exec?.command, [...launcher, 'probe', 'health']);
  assert.deepEqual(c.readinessProbe?.exec?.command, [...launcher, 'probe', 'ready']);
  for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) assert.equal(probe?.initialDelaySeconds, undefined);
  assert.deepEqual(c.command, [...launcher, 'run']);
  const env = envOf(c);
  assert.deepEqual([env.WORKER_PORT, env.WORKER_HEALTH_PORT, env.COORDINATOR_PORT, env.COORDINATOR_METRICS_PORT], ['50071', '9071', '50061', '9061']);
  assert.deepEqual(c.ports?.map((p) => [p.name, p.containerPort]),
    [['worker', 50071], ['worker-health', 9071], ['coordinator', 50061], ['coord-metrics', 9061]]);
});

test('router: ports 8000/50051, /health and /ready probes, HPA on the Deployment, surge without unavailability', () => {
  const objects = renderChart({});
  const { dep, c } = routerOf(objects);
  assert.deepEqual(c.args, ['router']);
  assert.deepEqual(c.ports?.map((p) => [p.name, p.containerPort]), [['http', 8000], ['grpc', 50051]]);
  assert.deepEqual(c.livenessProbe?.httpGet, { path: '/health', port: 'http' });
  assert.deepEqual(c.readinessProbe?.httpGet, { path: '/ready', port: 'http' });
  assert.equal(c.readinessProbe?.initialDelaySeconds, undefined);
  assert.deepEqual(dep.spec?.strategy?.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
  assert.match(c.image ?? '', /-cpu$/);
  const env = envOf(c);
  assert.equal(env.M2_PORT, '8000');
  assert.equal(env.M2_GRPC_PORT, '50051');
  assert.equal(env.M2_NATS, `nats://m2-m2-cluster-nats.${NAMESPACE}.svc:4222`, 'routers discover coordinators over NATS');
  assert.equal(env.M2_COORDINATORS, `m2-m2-cluster-worker-0.m2-m2-cluster-group.${NAMESPACE}.svc:50061`, 'the static list, also with NATS (coordinators announce the same names)');
  assert.equal(env.M2_MODEL, '/models/m2');
  const svc = findObject<IService>(objects, 'Service', '-router');
  assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]), [['http', 8000, 'http'], ['grpc', 50051, 'grpc']]);
  assert.ok(matches(svc.spec?.selector, dep.spec?.template.metadata?.labels));
  const hpa = findObject<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler', '-router');
  assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: dep.metadata?.name });
  assert.equal(dep.spec?.replicas, hpa.spec?.minReplicas, 'install starts at the HPA minimum');

  assert.equal(routerOf(renderChart({}, ['--is-upgrade'])).dep.spec?.replicas, undefined, 'an upgrade must not undo the HPA');
  const fixed = routerOf(renderChart({ router: { autoscaling: { enabled: false }, replicas: 3 } }));
  assert.equal(fixed.dep.spec?.replicas, 3);
});

test('routers get every group\'s rank-0 coordinator through the headless Service, up to KEDA\'s maximum', () => {
  const objects = renderChart(VALUE_SETS['tp2 x 3 groups, cpu, hostPath, no nats']);
  const env = envOf(routerOf(objects).c);
  const svc = `m2-m2-cluster-group.${NAMESPACE}.svc`;
  assert.equal(env.M2_COORDINATORS, [0, 2, 4].map((o) => `m2-m2-cluster-worker-${o}.${svc}:50061`).join(','));
  assert.equal(env.M2_NATS, undefined);
  assert.equal(envOf(workerOf(objects).c).M2_NATS, undefined);
  assert.equal(objects.filter((o) => o.metadata.name.endsWith('-nats')).length, 0, 'no in-chart NATS objects');
  const external = renderChart(VALUE_SETS['tp8, uri, external nats, network peers']);
  assert.equal(envOf(workerOf(external).c).M2_NATS, 'nats://nats.shared.svc:4222');
  assert.equal(envOf(routerOf(external).c).M2_NATS, 'nats://nats.shared.svc:4222');
  const keda = envOf(routerOf(renderChart(VALUE_SETS['tp4 x 2 groups, pvc, keda'])).c);
  assert.equal(keda.M2_COORDINATORS, [0, 4, 8, 12, 16].map((o) => `m2-m2-cluster-worker-${o}.${svc}:50061`).join(','),
    'keda.maxReplicas (5) groups of 4: groups KEDA adds later are routed to once they are ready');
});

test('headless group Service publishes not-ready pods of the StatefulSet for rank discovery', () => {
  const objects = renderChart({ tensorParallelSize: 2 });
  const { sts } = workerOf(objects);
  const svc = findObject<IService>(objects, 'Service', '-group');
  assert.equal(svc.spec?.clusterIP, 'None');
  assert.equal(svc.spec?.publishNotReadyAddresses, true);
  assert.equal(sts.spec?.serviceName, svc.metadata?.name);
  assert.ok(matches(svc.spec?.selector, sts.spec?.template.metadata?.labels));
  assert.deepEqual(svc.spec?.ports?.map((p) => p.port), [50071, 9071, 50061, 9061]);
});

test('engine settings reach the pods as M2_* variables', () => {
  const env = envOf(workerOf(renderChart(VALUE_SETS['tp2 x 3 groups, cpu, hostPath, no nats'])).c);
  assert.equal(env.M2_QUANTIZATION, 'gptq-int4');
  assert.equal(env.M2_SPECULATIVE, 'off', 'boolean false means off');
  assert.equal(env.M2_MAX_MODEL_LEN, '8192');
  assert.equal(env.M2_KV_CACHE_MEMORY, '0.5');
  assert.equal(env.M2_MAX_NUM_SEQS, '32');
  assert.equal(env.M2_MAX_NUM_BATCHED_TOKENS, '2048');
  assert.equal(env.M2_BLOCK_SIZE, '16');
  assert.equal(env.M2_MODEL, '/models/m2');
  assert.equal(env.M2_SERVED_MODEL_NAME, 'baichuan-m2-32b');
  assert.equal(env.M2_CACHE_DIR, '/tmp/m2-cache', 'caches on the writable /tmp volume');
  const defaults = envOf(workerOf(renderChart({})).c);
  assert.equal(defaults.M2_SPECULATIVE, 'on');
  assert.equal(defaults.M2_QUANTIZATION, 'bf16');
  assert.equal(defaults.M2_MAX_MODEL_LEN, undefined, 'unset: the process takes the config\'s length');
  assert.equal(defaults.M2_KV_CACHE_MEMORY, undefined);
  const extra = workerOf(renderChart(VALUE_SETS['tp8, uri, external nats, network peers'])).c;
  assert.equal(envOf(extra).NCCL_DEBUG, 'WARN');
});

test('/dev/shm is a memory emptyDir of the configured size', () => {
  const { sts, c } = workerOf(renderChart({ worker: { shmSize: '24Gi' } }));
  const shm = sts.spec?.template.spec?.volumes?.find((v) => v.name === 'shm');
  assert.deepEqual(shm?.emptyDir, { medium: 'Memory', sizeLimit: '24Gi' });
  assert.ok(c.volumeMounts?.some((m) => m.name === 'shm' && m.mountPath === '/dev/shm'));
});

test('model volume per source, the same in worker and router pods: read-only mount, pvc/hostPath direct, uri/makeModel filled by an init container', () => {
  type Spec = NonNullable<NonNullable<IStatefulSet['spec']>['template']['spec']>;
  const mount = (c: IContainer) => c.volumeMounts?.find((m) => m.name === 'model');
  const volume = (spec: Spec | undefined) => spec?.volumes?.find((v) => v.name === 'model');
  const pods = (values: ChartValues) => {
    const objects = renderChart(values);
    const worker = workerOf(objects);
    const router = routerOf(objects);
    return [
      { what: 'worker', spec: worker.sts.spec?.template.spec, c: worker.c },
      { what: 'router', spec: router.dep.spec?.template.spec, c: router.c },
    ];
  };
  const routerOnly = (values: ChartValues) => pods(values)[1];

  for (const { what, spec, c } of pods(M2_32B_BF16)) {
    assert.deepEqual(volume(spec)?.persistentVolumeClaim, { claimName: 'baichuan-m2-32b', readOnly: true }, what);
    assert.deepEqual(mount(c), { name: 'model', mountPath: '/models/m2', readOnly: true, subPath: 'bf16' }, what);
    assert.equal(spec?.initContainers, undefined, what);
    assert.equal(envOf(c).M2_MODEL, '/models/m2', what);
  }
  assert.deepEqual(mount(routerOnly(M2_32B_GPTQ_24GB).c)?.subPath, 'gptq-int4');
  assert.equal(mount(routerOnly({ model: { source: 'pvc', pvc: { claimName: 'w' } } }).c)?.subPath, undefined, 'no subPath: the claim\'s root');

  for (const { what, spec, c } of pods(VALUE_SETS['tp2 x 3 groups, cpu, hostPath, no nats'])) {
    assert.deepEqual(volume(spec)?.hostPath, { path: '/data/m2', type: 'Directory' }, what);
    assert.deepEqual(mount(c), { name: 'model', mountPath: '/models/m2', readOnly: true }, what);
    assert.equal(spec?.initContainers, undefined, what);
  }

  const [worker, router] = pods(VALUE_SETS['tp8, uri, external nats, network peers']);
  assert.deepEqual(volume(worker.spec)?.emptyDir, { sizeLimit: '90Gi' });
  assert.deepEqual(volume(router.spec)?.emptyDir, { sizeLimit: '1Gi' }, 'routers keep only configs and tokenizer');
  const fetchOf = (spec: Spec | undefined) => only(spec?.initContainers, 'init container');
  for (const { what, spec, c } of [worker, router]) {
    const fetch = fetchOf(spec);
    assert.equal(fetch.name, 'fetch-model', what);
    assert.equal(envOf(fetch).MODEL_URI, 'https://models.example.com/m2-32b-bf16.tar.gz', what);
    const staging = only(fetch.volumeMounts, 'fetch mount');
    assert.equal(staging.name, 'model', what);
    assert.equal(envOf(fetch).MODEL_DIR, staging.mountPath, `${what}: the fetch unpacks into the volume`);
    assert.deepEqual(mount(c), { name: 'model', mountPath: '/models/m2', readOnly: true }, what);
  }
  const weights = ['*.safetensors', '*.bin', '*.pt', '*.pth', '*.gguf'];
  const routerScript = fetchOf(router.spec).args?.[0] ?? '';
  for (const pattern of weights) assert.ok(routerScript.includes(`--exclude='${pattern}'`), `router fetch skips ${pattern}`);
  assert.doesNotMatch(fetchOf(worker.spec).args?.[0] ?? '', /--exclude/, 'workers unpack the whole checkpoint');
  assert.deepEqual(volume(routerOnly({ model: { source: 'uri', uri: { uri: 'https://m/x.tar', routerSizeLimit: '256Mi' } } }).spec)?.emptyDir, { sizeLimit: '256Mi' });

  for (const { what, spec, c } of pods({ model: { source: 'makeModel', makeModel: { preset: 'small', seed: 7 } } })) {
    assert.deepEqual(volume(spec)?.emptyDir, {}, what);
    const make = only(spec?.initContainers, 'init container');
    assert.equal(make.name, 'make-model', what);
    const staging = only(make.volumeMounts?.filter((m) => m.name === 'model'), 'make-model model mount');
    // make-model builds beside --out and renames, so --out is a folder inside the volume, and the
    // main container mounts that folder.
    assert.deepEqual(make.args, ['make-model', '--preset', 'small', '--seed', '7', '--out', `${staging.mountPath}/model`], what);
    assert.deepEqual(mount(c), { name: 'model', mountPath: '/models/m2', readOnly: true, subPath: 'model' }, what);
    assert.ok(make.volumeMounts?.some((m) => m.name === 'tmp' && m.mountPath === '/tmp'), `${what}: writable /tmp`);
    assert.ok(spec?.volumes?.some((v) => v.name === 'tmp'), `${what}: has the tmp volume`);
  }
});

test('NetworkPolicy: worker ports only from this release (plus metrics peers), router open, NATS release-only', () => {
  const objects = renderChart(VALUE_SETS['tp8, uri, external nats, network peers']);
  const workerLabels = workerOf(objects).sts.spec?.template.metadata?.labels;
  const routerLabels = routerOf(objects).dep.spec?.template.metadata?.labels;
  const otherRelease = { ...routerLabels, 'app.kubernetes.io/instance': 'other' };

  const workerPolicy = findObject<INetworkPolicy>(objects, 'NetworkPolicy', '-worker');
  assert.ok(matches(workerPolicy.spec?.podSelector?.matchLabels, workerLabels));
  assert.ok(!matches(workerPolicy.spec?.podSelector?.matchLabels, routerLabels), 'the worker policy must not select routers');
  assert.deepEqual(workerPolicy.spec?.policyTypes, ['Ingress']);
  const [fromRelease, fromMetrics] = workerPolicy.spec?.ingress ?? [];
  const peer = only(fromRelease.from, 'peer').podSelector?.matchLabels;
  assert.equal(fromRelease.ports, undefined, 'all ports from the release: NCCL picks its ports at run time');
  assert.ok(matches(peer, routerLabels) && matches(peer, workerLabels), 'routers and ranks reach the workers');
  assert.ok(!matches(peer, otherRelease), 'pods of another release do not');
  assert.deepEqual(fromMetrics.ports?.map((p) => p.port), [9061, 9071]);
  assert.deepEqual(only(fromMetrics.from, 'metrics peer').namespaceSelector?.matchLabels, { 'kubernetes.io/metadata.name': 'monitoring' });

  const routerPolicy = findObject<INetworkPolicy>(objects, 'NetworkPolicy', '-router');
  assert.ok(matches(routerPolicy.spec?.podSelector?.matchLabels, routerLabels));
  const routerIngress = only(routerPolicy.spec?.ingress, 'router ingress rule');
  assert.deepEqual(routerIngress.ports?.map((p) => p.port), [8000, 50051]);
  assert.deepEqual(only(routerIngress.from, 'router peer').namespaceSelector?.matchLabels, { 'kubernetes.io/metadata.name': 'gateway' });
  assert.equal(only(findObject<INetworkPolicy>(renderChart({}), 'NetworkPolicy', '-router').spec?.ingress, 'rule').from, undefined);

  const natsPolicy = findObject<INetworkPolicy>(renderChart({}), 'NetworkPolicy', '-nats');
  const natsRule = only(natsPolicy.spec?.ingress, 'nats rule');
  assert.deepEqual(natsRule.ports?.map((p) => p.port), [4222]);
  assert.ok(!matches(only(natsRule.from, 'nats peer').podSelector?.matchLabels, otherRelease));
  assert.equal(renderChart({ networkPolicy: { enabled: false } }).filter((o) => o.kind === 'NetworkPolicy').length, 0);
});

test('PodDisruptionBudgets select the worker and router pods and allow one voluntary disruption', () => {
  const objects = renderChart({ tensorParallelSize: 4, replicas: 2 });
  const workerPdb = findObject<IPodDisruptionBudget>(objects, 'PodDisruptionBudget', '-worker');
  assert.ok(matches(workerPdb.spec?.selector?.matchLabels, workerOf(objects).sts.spec?.template.metadata?.labels));
  assert.ok(!matches(workerPdb.spec?.selector?.matchLabels, routerOf(objects).dep.spec?.template.metadata?.labels));
  assert.equal(workerPdb.spec?.maxUnavailable, 1);
  const routerPdb = findObject<IPodDisruptionBudget>(objects, 'PodDisruptionBudget', '-router');
  assert.ok(matches(routerPdb.spec?.selector?.matchLabels, routerOf(objects).dep.spec?.template.metadata?.labels));
});

test('ServiceAccount and Role let the pods discover peers and scale the worker StatefulSet', () => {
  const objects = renderChart({});
  const role = findObject<IRole>(objects, 'Role', 'm2-m2-cluster');
  const binding = findObject<IRoleBinding>(objects, 'RoleBinding', 'm2-m2-cluster');
  const sa = objects.find((o) => o.kind === 'ServiceAccount')?.metadata.name;
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: NAMESPACE }]);
  assert.equal(routerOf(objects).dep.spec?.template.spec?.serviceAccountName, sa);
  assert.equal(workerOf(objects).sts.spec?.template.spec?.serviceAccountName, sa);
  const allows = (group: string, resource: string, verb: string) =>
    role.rules?.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb));
  assert.ok(allows('apps', 'statefulsets/scale', 'update'));
  assert.ok(allows('', 'pods', 'watch'));
  assert.ok(allows('coordination.k8s.io', 'leases', 'update'));
  assert.ok(!allows('', 'secrets', 'get'));
  const env = envOf(routerOf(objects).c);
  assert.equal(env.M2_WORKER_STATEFULSET, workerOf(objects).sts.metadata?.name);
  assert.ok(role.rules?.some((r) => r.resources?.includes('leases') && r.resourceNames?.includes(env.M2_SCALER_LEASE)));
});

test('KEDA ScaledObject scales the StatefulSet in whole groups on vllm:num_requests_waiting', () => {
  const objects = renderChart(VALUE_SETS['tp4 x 2 groups, pvc, keda']);
  const so = findObject<ScaledObject>(objects, 'ScaledObject', '-worker');
  const { sts } = workerOf(objects);
  assert.deepEqual(so.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: sts.metadata?.name });
  assert.equal(so.spec.minReplicaCount, 8);
  assert.equal(so.spec.maxReplicaCount, 20);
  assert.equal(sts.spec?.replicas, 8, 'install starts at KEDA\'s minimum');
  const trigger = only(so.spec.triggers, 'trigger');
  assert.equal(trigger.type, 'prometheus');
  assert.equal(trigger.metadata.threshold, '1');
  assert.match(trigger.metadata.query, /^4 \* ceil\(sum\(vllm:num_requests_waiting\{namespace="llm", pod=~"m2-m2-cluster-worker-\[0-9\]\+"\}\) \/ 8\)$/);
  const upgrade = workerOf(renderChart(VALUE_SETS['tp4 x 2 groups, pvc, keda'], ['--is-upgrade'])).sts;
  assert.equal(upgrade.spec?.replicas, undefined, 'an upgrade must not undo KEDA\'s scaling');
  assert.equal(renderChart({}).filter((o) => o.kind === 'ScaledObject').length, 0, 'KEDA is opt-in');
});

test('helm test hook sends one chat request to the router Service', () => {
  const objects = renderChart({ model: { servedModelName: 'm2-test' } });
  const pod = findObject<IPod>(objects, 'Pod', '-test-chat');
  assert.equal(pod.metadata?.annotations?.['helm.sh/hook'], 'test');
  assert.equal(pod.spec?.restartPolicy, 'Never');
  const c = only(pod.spec?.containers, 'test container');
  assert.equal(envOf(c).ROUTER_URL, `http://m2-m2-cluster-router.${NAMESPACE}.svc:8000`);
  assert.equal(envOf(c).MODEL, 'm2-test');
  assert.match(c.args?.[0] ?? '', /\/v1\/chat\/completions/);
  assert.equal(renderChart({ tests: { enabled: false } }).filter((o) => o.kind === 'Pod').length, 0);
});

test('the launcher ConfigMap holds files/pod-launcher.sh and pods roll when it changes', () => {
  const objects = renderChart({});
  const cm = findObject<IConfigMap>(objects, 'ConfigMap', '-launcher');
  const script = cm.data?.['pod-launcher.sh'] ?? '';
  assert.match(script, /^#!\/bin\/bash\n/);
  const { sts } = workerOf(objects);
  assert.match(sts.spec?.template.metadata?.annotations?.['checksum/launcher'] ?? '', /^[0-9a-f]{64}$/);
  const vol = sts.spec?.template.spec?.volumes?.find((v) => v.name === 'launcher');
  assert.equal(vol?.configMap?.name, cm.metadata?.name);
});

test('the real M2-32B value sets: bf16 on 2 x 80 GB and GPTQ-Int4 on one 24 GB card', () => {
  const bf16 = workerOf(renderChart(M2_32B_BF16));
  assert.equal(bf16.sts.spec?.replicas, 2);
  assert.equal(bf16.c.resources?.limits?.['nvidia.com/gpu'], 1);
  assert.equal(envOf(bf16.c).M2_QUANTIZATION, 'bf16');
  const gptq = workerOf(renderChart(M2_32B_GPTQ_24GB));
  assert.equal(gptq.sts.spec?.replicas, 1);
  assert.deepEqual(gptq.c.resources?.limits, { memory: '48Gi', 'nvidia.com/gpu': 1 });
  const env = envOf(gptq.c);
  assert.deepEqual([env.M2_QUANTIZATION, env.M2_SPECULATIVE, env.M2_MAX_MODEL_LEN, env.M2_MAX_NUM_SEQS], ['gptq-int4', 'off', '8192', '4']);
});

test('NOTES.txt says what was deployed and how to call the API', () => {
  const notes = helmNotes({ tensorParallelSize: 4, replicas: 2, model: { servedModelName: 'm2-notes' } });
  assert.match(notes, /2 replica\(s\) of m2-notes, tensor parallel 4\n\(8 worker pods, 8 x nvidia.com\/gpu, bf16, speculation on\)/);
  assert.match(notes, new RegExp(`kubectl -n ${NAMESPACE} port-forward svc/m2-m2-cluster-router 8000:8000`));
  assert.match(notes, /curl -s http:\/\/127\.0\.0\.1:8000\/v1\/chat\/completions/);
  assert.match(notes, /"model": "m2-notes"/);
  assert.match(notes, /helm test m2/);
  const cpu = helmNotes(VALUE_SETS['tp2 x 3 groups, cpu, hostPath, no nats']);
  assert.match(cpu, /\(6 worker pods, CPU backend, gptq-int4, speculation off\)/);
  assert.match(cpu, /~19 GB in GPTQ-Int4/);
});
