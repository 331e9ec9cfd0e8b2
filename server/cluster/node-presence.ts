// Which studio nodes are alive, when there are several: each node stamps its row in
// `cluster_nodes` every second. A node whose stamp is older than NODE_GONE_AFTER_MS is taken
// for gone (killed, or its machine lost), and what it left unfinished that another node can
// finish from the shared data directory (its cut recording segments) is taken over.
// A node that only stalled (a long pause) for that long and wakes up finds those rows no longer
// name it, and leaves them alone.
import type { Database } from '../db/engine.ts';
import type { Logger } from '../log.ts';

/** Thirty missed stamps: far beyond a garbage-collection pause or a database failover. */
export const NODE_GONE_AFTER_MS = 30_000;
const STAMP_EVERY_MS = 1_000;

export class NodePresence {
  readonly node: string;
  private readonly db: Database;
  private readonly log: Logger;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private address: string | null = null;

  constructor(deps: { db: Database; node: string; log: Logger; now?: () => number }) {
    this.db = deps.db;
    this.node = deps.node;
    this.log = deps.log.child({ module: 'node-presence', node: deps.node });
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.stamp();
    this.timer = setInterval(() => this.stamp(), STAMP_EVERY_MS);
    this.timer.unref();
  }

  /** How the other nodes reach this one (known once it listens); stamped from now on. */
  advertise(address: string): void {
    this.address = address;
    this.stamp();
  }

  /** Stops stamping (a node that stopped cleanly has finished what it wrote). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stamps this node's row now. Never throws: a failed stamp is tried again a second later. */
  stamp(): void {
    try {
      this.db
        .prepare('INSERT INTO cluster_nodes (node, seen_at, address) VALUES (?, ?, ?) ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at, address = excluded.address')
        .run(this.node, this.now(), this.address);
      if (this.failing) this.log.info('node presence stamped again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log.warn({ err: (error as Error).message }, 'stamping this node as alive failed; tried again every second');
      this.failing = true;
    }
  }
}
