// Session affinity: a conversation's turns go to the replica that holds its KV prefix. The table
// maps a client's session id (header `x-session-id`, body `session_id`, gRPC `session_id`) to the
// replica its last turn went to; it is bounded (least recently used sessions are forgotten first)
// and entries expire after a quiet period, so abandoned sessions never pin memory or replicas.

export interface SessionTableOptions {
  maxSessions: number;
  /** A session unused for this long is forgotten. */
  idleTtlMs: number;
}

export const DEFAULT_SESSION_TABLE_OPTIONS: SessionTableOptions = { maxSessions: 100_000, idleTtlMs: 30 * 60 * 1000 };

interface SessionEntry<R> {
  replica: R;
  lastUsedAt: number;
}

export class RouterSessionTable<R> {
  /** Insertion order = least recently used first. */
  private readonly entries = new Map<string, SessionEntry<R>>();

  constructor(
    private readonly options: SessionTableOptions = DEFAULT_SESSION_TABLE_OPTIONS,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isSafeInteger(options.maxSessions) || options.maxSessions < 1) throw new Error(`session table: maxSessions must be a positive integer, got ${options.maxSessions}`);
    if (!(options.idleTtlMs > 0)) throw new Error(`session table: idleTtlMs must be positive, got ${options.idleTtlMs}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The replica the session's last turn went to, unless the session expired or is unknown. */
  lookup(sessionId: string): R | undefined {
    const entry = this.entries.get(sessionId);
    if (entry === undefined) return undefined;
    if (this.now() - entry.lastUsedAt > this.options.idleTtlMs) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.replica;
  }

  /** Binds (or re-binds) the session to `replica` and marks it used now. */
  bind(sessionId: string, replica: R): void {
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { replica, lastUsedAt: this.now() });
    for (const [oldest] of this.entries) {
      if (this.entries.size <= this.options.maxSessions) break;
      this.entries.delete(oldest);
    }
  }
}
