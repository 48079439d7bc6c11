// Value sets the chart tests render: the defaults plus deployments that differ in every axis
// the chart branches on (TP size, groups, device, model source, NATS, autoscaling, policies).
import type { ChartValues } from './render.ts';

/**
 * bf16 M2-32B on 2 x 80 GB GPUs (TP=2) per replica, weights (~66 GB) on a ReadOnlyMany claim:
 * ~33 GB of weights per GPU leaves ~40 GB of KV cache per rank (128 KB per token at TP=2).
 */
export const M2_32B_BF16: ChartValues = {
  tensorParallelSize: 2,
  replicas: 1,
  model: { source: 'pvc', pvc: { claimName: 'baichuan-m2-32b', subPath: 'bf16' } },
  engine: { quantization: 'bf16', speculative: 'on', maxModelLen: 32768, kvCacheMemory: '0.9' },
  worker: {
    nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' },
    // Both ranks of the group on one node, so the all-reduce runs over NVLink.
    affinity: {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/component': 'worker' } } },
        }],
      },
    },
  },
};

/**
 * GPTQ-Int4 M2-32B on one 24 GB card (TP=1). ~19 GB of weights leave ~3-4 GB of KV cache at
 * 256 KB per token (64 layers x 8 KV heads x 128 x K,V x bf16): ~12k tokens in all, so short
 * context, few sequences, and no draft head (~1.3 GB that the KV cache needs more).
 */
export const M2_32B_GPTQ_24GB: ChartValues = {
  tensorParallelSize: 1,
  replicas: 1,
  model: { source: 'pvc', pvc: { claimName: 'baichuan-m2-32b', subPath: 'gptq-int4' } },
  engine: { quantization: 'gptq-int4', speculative: 'off', maxModelLen: 8192, maxNumSeqs: 4, kvCacheMemory: '0.92' },
  worker: { resources: { requests: { cpu: '4', memory: '24Gi' }, limits: { memory: '48Gi' } }, shmSize: '4Gi' },
};

export const VALUE_SETS: Record<string, ChartValues> = {
  defaults: {},
  'tp4 x 2 groups, pvc, keda': {
    tensorParallelSize: 4,
    replicas: 2,
    model: { source: 'pvc', pvc: { claimName: 'm2-weights' } },
    keda: { enabled: true, minReplicas: 2, maxReplicas: 5 },
  },
  'tp2 x 3 groups, cpu, hostPath, no nats': {
    tensorParallelSize: 2,
    replicas: 3,
    worker: { device: 'cpu', shmSize: '2Gi' },
    model: { source: 'hostPath', hostPath: { path: '/data/m2' } },
    nats: { enabled: false },
    engine: { quantization: 'gptq-int4', speculative: false, maxModelLen: 8192, kvCacheMemory: '0.5', maxNumSeqs: 32 },
    router: { autoscaling: { enabled: false }, replicas: 3 },
  },
  'tp8, uri, external nats, network peers': {
    tensorParallelSize: 8,
    replicas: 1,
    model: { source: 'uri', uri: { uri: 'https://models.example.com/m2-32b-bf16.tar.gz', sizeLimit: '90Gi' } },
    nats: { enabled: false, url: 'nats://nats.shared.svc:4222' },
    networkPolicy: {
      routerFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gateway' } } }],
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    },
    worker: { extraEnv: [{ name: 'NCCL_DEBUG', value: 'WARN' }], tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] },
  },
  'M2-32B bf16 on 2 x 80 GB': M2_32B_BF16,
  'M2-32B GPTQ-Int4 on one 24 GB card': M2_32B_GPTQ_24GB,
};
