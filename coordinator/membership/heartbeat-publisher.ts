// The coordinator's side of NATS membership: a heartbeat on `m2.v1.coordinators.<model>` every
// interval (identity, connectable gRPC address, readiness and load), an answer to every
// `m2.v1.coordinators.discover` request (so a new router learns everyone at once), and a
// "leaving" message when the coordinator starts draining. NATS being down never stops serving:
// the link keeps retrying and heartbeats resume when it is back.
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { NatsLink } from './nats-link.ts';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DISCOVER_SUBJECT,
  encodeAnnouncement,
  heartbeatSubject,
  type CoordinatorAnnouncement,
} from './messages.ts';

/** The live part of an announcement, read at each heartbeat. */
export interface CoordinatorSnapshot {
  ready: boolean;
  running: number;
  waiting: number;
  kvUsage: number;
}

export interface HeartbeatPublisherOptions {
  natsUrl: string;
  /** gRPC address other hosts can dial (see advertisedAddress). */
  address: string;
  model: string;
  tp: number;
  snapshot(): CoordinatorSnapshot;
  intervalMs?: number;
  log?(message: string): void;
}

/**
 * The host:port routers should dial for a gRPC server bound to `bindHost`: a specific bind address
 * as is; a wildcard bind as this host's first non-internal IPv4 address (the pod IP in Kubernetes),
 * or loopback when there is none.
 */
export function advertisedAddress(bindHost: string, port: number): string {
  if (bindHost !== '' && bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost.includes(':') ? `[${bindHost}]:${port}` : `${bindHost}:${port}`;
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  return `${external?.address ?? '127.0.0.1'}:${port}`;
}

export class HeartbeatPublisher {
  readonly id = randomUUID();
  private readonly startedAt = Date.now();
  private readonly intervalMs: number;
  private readonly subject: string;
  private readonly link: NatsLink;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: HeartbeatPublisherOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.subject = heartbeatSubject(opts.model);
    const log = opts.log ?? ((m: string) => console.error(`m2 coordinator: ${m}`));
    this.link = new NatsLink({
      url: opts.natsUrl,
      name: `m2-coordinator ${opts.address}`,
      log,
      onConnect: (nc) => {
        nc.subscribe(DISCOVER_SUBJECT, { callback: (_err, msg) => void msg.respond(this.message('heartbeat')) });
        this.beat();
      },
      onStatus: (connected) => {
        if (connected) this.beat();
      },
    });
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  private message(kind: CoordinatorAnnouncement['kind']): string {
    const { ready, running, waiting, kvUsage } = this.opts.snapshot();
    return encodeAnnouncement({
      kind,
      id: this.id,
      address: this.opts.address,
      model: this.opts.model,
      tp: this.opts.tp,
      ready: kind === 'heartbeat' && ready,
      running,
      waiting,
      kvUsage: Math.min(1, Math.max(0, kvUsage)),
      startedAt: this.startedAt,
      intervalMs: this.intervalMs,
    });
  }

  private beat(): void {
    this.link.connection?.publish(this.subject, this.message('heartbeat'));
  }

  /** Says "leaving" (when connected), stops the heartbeats and closes the connection. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    await this.link.close(async (nc) => {
      nc.publish(this.subject, this.message('leaving'));
      await nc.flush();
    });
  }
}
