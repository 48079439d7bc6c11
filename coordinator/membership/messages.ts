// The NATS control-plane contract between coordinators and routers: subject names and the one
// message a coordinator sends about itself (a heartbeat, a discover answer, or "leaving"). Both
// sides import it from here, and every received message is validated before it is trusted:
// anything on the bus may be from another version, another tool, or garbage.

/** Routers ask on this subject; every coordinator answers with its current heartbeat. */
export const DISCOVER_SUBJECT = 'm2.v1.coordinators.discover';

/** How often coordinators announce themselves unless told otherwise. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;

/**
 * `m2.v1.coordinators.<model>`. A subject token cannot hold `.`, `*`, `>` or whitespace, and model
 * names do ("Qwen2.5-0.5B"): characters outside [A-Za-z0-9_-] become `_`. Messages carry the exact
 * name, which receivers compare; the subject only narrows what they receive.
 */
export function heartbeatSubject(modelName: string): string {
  if (modelName === '') throw new Error('a heartbeat subject needs a model name');
  return `m2.v1.coordinators.${modelName.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export type AnnouncementKind = 'heartbeat' | 'leaving';

/** What a coordinator says about itself. */
export interface CoordinatorAnnouncement {
  kind: AnnouncementKind;
  /** Unique per coordinator process (a restarted coordinator gets a new one). */
  id: string;
  /** Its CoordinatorService gRPC address, host:port, connectable from other hosts. */
  address: string;
  /** The served model name. */
  model: string;
  tp: number;
  ready: boolean;
  running: number;
  waiting: number;
  /** KV cache usage, 0..1. */
  kvUsage: number;
  /** Unix milliseconds. */
  startedAt: number;
  /** The sender's heartbeat period: receivers count missed heartbeats in these. */
  intervalMs: number;
}

export function encodeAnnouncement(a: CoordinatorAnnouncement): string {
  return JSON.stringify(a);
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+):\d{1,5}$/;

function field<T>(obj: Record<string, unknown>, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = obj[name];
  if (!check(v)) throw new Error(`"${name}" must be ${what}, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isPositive = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isFraction = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
const isKind = (v: unknown): v is AnnouncementKind => v === 'heartbeat' || v === 'leaving';
const isAddress = (v: unknown): v is string => typeof v === 'string' && ADDRESS.test(v);

/** Parses and validates one message body; throws an Error saying what is wrong. */
export function decodeAnnouncement(data: string): CoordinatorAnnouncement {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
  const obj = parsed as Record<string, unknown>;
  return {
    kind: field(obj, 'kind', isKind, '"heartbeat" or "leaving"'),
    id: field(obj, 'id', isString, 'a non-empty string'),
    address: field(obj, 'address', isAddress, 'host:port'),
    model: field(obj, 'model', isString, 'a non-empty string'),
    tp: field(obj, 'tp', isPositive, 'a positive integer'),
    ready: field(obj, 'ready', isBool, 'a boolean'),
    running: field(obj, 'running', isCount, 'a count'),
    waiting: field(obj, 'waiting', isCount, 'a count'),
    kvUsage: field(obj, 'kvUsage', isFraction, 'a number in 0..1'),
    startedAt: field(obj, 'startedAt', isCount, 'unix milliseconds'),
    intervalMs: field(obj, 'intervalMs', isPositive, 'a positive integer of milliseconds'),
  };
}
