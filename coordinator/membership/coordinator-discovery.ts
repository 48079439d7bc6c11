// The router's side of NATS membership: which coordinators of its model are alive. It listens to
// `m2.v1.coordinators.<model>` and asks `m2.v1.coordinators.discover` on every new connection (so
// it learns everyone at once instead of waiting a heartbeat period). A coordinator joins on first
// sight and is gone after `missedHeartbeats` periods of silence or on its "leaving" message.
// While the router itself is cut off from NATS nobody expires: silence then says nothing about
// the coordinators (their own Stats polls still decide readiness), and the clock restarts on
// reconnect. Malformed messages are logged and dropped.
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { NatsLink } from './nats-link.ts';
import { decodeAnnouncement, DISCOVER_SUBJECT, heartbeatSubject, type CoordinatorAnnouncement } from './messages.ts';

export interface CoordinatorDiscoveryOptions {
  natsUrl: string;
  /** Only coordinators serving this model name count. */
  model: string;
  /** First sight of a coordinator address. */
  onJoin(announcement: CoordinatorAnnouncement): void;
  /** The coordinator at `address` left or fell silent. */
  onGone(address: string, reason: string): void;
  /** Periods of silence after which a coordinator is gone (default 3). */
  missedHeartbeats?: number;
  log?(message: string): void;
}

interface Member {
  id: string;
  intervalMs: number;
  lastSeen: number;
}

const SWEEP_MS = 200;

export class CoordinatorDiscovery {
  private readonly members = new Map<string, Member>();
  private readonly link: NatsLink;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly log: (message: string) => void;
  private linkUp = false;
  private inbox = '';

  constructor(private readonly opts: CoordinatorDiscoveryOptions) {
    this.log = opts.log ?? ((m: string) => console.error(`m2 router: ${m}`));
    this.link = new NatsLink({
      url: opts.natsUrl,
      name: `m2-router ${opts.model}`,
      log: this.log,
      onConnect: (nc) => this.subscribe(nc),
      onStatus: (connected) => {
        this.linkUp = connected;
        if (!connected) return;
        const now = Date.now();
        for (const m of this.members.values()) m.lastSeen = now;
        this.discover();
      },
    });
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Addresses of the coordinators alive now. */
  get addresses(): string[] {
    return [...this.members.keys()];
  }

  private subscribe(nc: NatsConnection): void {
    const handle = (_err: Error | null, msg: Msg) => this.receive(msg);
    nc.subscribe(heartbeatSubject(this.opts.model), { callback: handle });
    this.inbox = createInbox();
    nc.subscribe(this.inbox, { callback: handle });
  }

  private discover(): void {
    this.link.connection?.publish(DISCOVER_SUBJECT, '', { reply: this.inbox });
  }

  private receive(msg: Msg): void {
    let a: CoordinatorAnnouncement;
    try {
      a = decodeAnnouncement(msg.string());
    } catch (err) {
      this.log(`ignoring a malformed message on ${msg.subject}: ${(err as Error).message}`);
      return;
    }
    if (a.model !== this.opts.model) return;
    const member = this.members.get(a.address);
    if (a.kind === 'leaving') {
      // A late "leaving" from an old process must not remove the one that replaced it.
      if (member?.id !== a.id) return;
      this.members.delete(a.address);
      this.opts.onGone(a.address, 'it is leaving');
      return;
    }
    if (member) {
      member.id = a.id;
      member.intervalMs = a.intervalMs;
      member.lastSeen = Date.now();
      return;
    }
    this.members.set(a.address, { id: a.id, intervalMs: a.intervalMs, lastSeen: Date.now() });
    this.opts.onJoin(a);
  }

  private sweep(): void {
    if (!this.linkUp) return;
    const missed = this.opts.missedHeartbeats ?? 3;
    const now = Date.now();
    for (const [address, m] of this.members) {
      if (now - m.lastSeen <= (missed + 0.5) * m.intervalMs) continue;
      this.members.delete(address);
      this.opts.onGone(address, `no heartbeat for ${now - m.lastSeen} ms`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.link.close();
  }
}
