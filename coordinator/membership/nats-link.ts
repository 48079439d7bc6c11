// A NATS connection that is never a start-up dependency (DESIGN.md: start-up order must not
// matter): the first connect is retried in the background with capped exponential backoff, and
// once connected the client reconnects by itself for ever. Users are told when the link comes up
// (a fresh connection: subscribe there) and whenever it goes down or comes back.
import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * Checks a NATS server list as `--nats` takes it: comma-separated `nats://host:port`, `tls://...`
 * or bare `host[:port]`. Returns the servers; throws an Error naming the bad entry.
 */
export function parseNatsServers(raw: string): string[] {
  const servers = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new Error('no NATS server given');
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(server.includes('://') ? server : `nats://${server}`);
    } catch {
      url = undefined;
    }
    if (!url || !['nats:', 'tls:'].includes(url.protocol) || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/')) {
      throw new Error(`${JSON.stringify(server)} is not a NATS server (nats://host:port)`);
    }
  }
  return servers;
}

/** A shutdown never waits longer than this on a NATS server that stopped answering. */
const CLOSE_FLUSH_MS = 1000;

export interface NatsLinkOptions {
  /** Comma-separated servers (see parseNatsServers). */
  url: string;
  /** Connection name the server shows (`nats-server` monitoring, logs). */
  name: string;
  /** Called on each new connection (not on the client's own reconnects, which keep subscriptions). */
  onConnect(nc: NatsConnection): void;
  /** Connected to a server now, or not; called on changes only. */
  onStatus?(connected: boolean): void;
  log(message: string): void;
  /** First-connect backoff bounds. */
  minRetryMs?: number;
  maxRetryMs?: number;
}

export class NatsLink {
  private nc: NatsConnection | undefined;
  private connected = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;

  constructor(private readonly opts: NatsLinkOptions) {
    this.retryMs = opts.minRetryMs ?? 250;
    void this.attempt();
  }

  /** The live connection, or undefined while none is up. */
  get connection(): NatsConnection | undefined {
    return this.connected ? this.nc : undefined;
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.opts.log(connected ? `NATS connected (${this.opts.url})` : `NATS disconnected (${this.opts.url}); reconnecting`);
    this.opts.onStatus?.(connected);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: parseNatsServers(this.opts.url), name: this.opts.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, pingInterval: 5000 });
    } catch (err) {
      if (this.stopped) return;
      this.opts.log(`NATS ${this.opts.url} unreachable (${(err as Error).message}); retrying in ${this.retryMs} ms`);
      this.retryTimer = setTimeout(() => void this.attempt(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.retryMs * 2, this.opts.maxRetryMs ?? 5000);
      return;
    }
    if (this.stopped) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.retryMs = this.opts.minRetryMs ?? 250;
    void this.watch(nc);
    this.opts.onConnect(nc);
    this.setConnected(true);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') this.setConnected(false);
      else if (s.type === 'reconnect') this.setConnected(true);
    }
    // The status stream ends when the connection closed; unless we closed it, start over.
    await nc.closed();
    if (this.stopped) return;
    this.setConnected(false);
    this.nc = undefined;
    void this.attempt();
  }

  /** Runs `finish` on the live connection (if any), then closes it and stops retrying. */
  async close(finish?: (nc: NatsConnection) => Promise<void>): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const nc = this.nc;
    if (!nc) return;
    if (this.connected && finish) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`gave up on the last messages after ${CLOSE_FLUSH_MS} ms`)), CLOSE_FLUSH_MS);
      });
      try {
        await Promise.race([finish(nc), timeout]);
      } catch (err) {
        this.opts.log(`NATS: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    }
    this.setConnected(false);
    await nc.close();
  }
}
