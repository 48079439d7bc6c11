// Original file: proto/m2/v1/worker.proto

/**
 * Collective transport between the ranks of one group.
 */
export const CollectiveKind = {
  COLLECTIVE_KIND_UNSPECIFIED: 'COLLECTIVE_KIND_UNSPECIFIED',
  /**
   * Shared memory: ranks on one host.
   */
  COLLECTIVE_KIND_SHM: 'COLLECTIVE_KIND_SHM',
  /**
   * TCP: ranks on different hosts.
   */
  COLLECTIVE_KIND_TCP: 'COLLECTIVE_KIND_TCP',
  /**
   * NCCL: GPU ranks.
   */
  COLLECTIVE_KIND_NCCL: 'COLLECTIVE_KIND_NCCL',
} as const;

/**
 * Collective transport between the ranks of one group.
 */
export type CollectiveKind =
  | 'COLLECTIVE_KIND_UNSPECIFIED'
  | 0
  /**
   * Shared memory: ranks on one host.
   */
  | 'COLLECTIVE_KIND_SHM'
  | 1
  /**
   * TCP: ranks on different hosts.
   */
  | 'COLLECTIVE_KIND_TCP'
  | 2
  /**
   * NCCL: GPU ranks.
   */
  | 'COLLECTIVE_KIND_NCCL'
  | 3

/**
 * Collective transport between the ranks of one group.
 */
export type CollectiveKind__Output = typeof CollectiveKind[keyof typeof CollectiveKind]
