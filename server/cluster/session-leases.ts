// Which studio node holds a session, when there are several: a lease in the database, taken by
// the node its people are connected to (the balancer sends a session's people to one node), kept
// by renewing it every second while they are there, and taken over by another node once it has
// expired (its holder died, or its people moved). Every takeover raises the lease's fencing
// token; what only the holder may store (a recording's segment rows) is stored only under the
// token it holds now (`fenced`), so a node that stalled past its lease and woke up stores nothing.
//
// A node's own clock decides when it stops counting on a lease (its renewal time plus the
// lifetime, less a margin): nodes' clocks must agree to well within that margin (NTP).
import { EventEmitter } from 'node:events';
import { transaction } from '../db/database.ts';
import type { Database } from '../db/engine.ts';
import type { Logger } from '../log.ts';

export interface LeaseOptions {
  /** How long a lease lasts after each renewal. */
  ttlMs: number;
  /** How often held leases are renewed and wanted ones tried. */
  renewEveryMs: number;
  /** A lease is kept this long after its session was last wanted here (people reconnecting). */
  keepMs: number;
  now?: () => number;
}

export const DEFAULT_LEASE_OPTIONS: LeaseOptions = { ttlMs: 5_000, renewEveryMs: 1_000, keepMs: 10_000 };

/** A holder stops counting on its lease this long before the expiry it stored. */
const SAFETY_MARGIN_MS = 1_000;

interface Held {
  token: number;
  /** Until when this node counts on it (its own clock). */
  validUntil: number;
  lastWanted: number;
}

/** Why a lease is no longer held: another node took it over (this one stalled past its expiry),
 *  the database could not be reached in time, or this node let it go. */
export type LeaseLoss = 'taken' | 'unreachable' | 'released';

interface LeaseEvents {
  acquired: [sessionId: string, token: number];
  lost: [sessionId: string, why: LeaseLoss];
}

export class SessionLeases extends EventEmitter<LeaseEvents> {
  readonly node: string;
  private readonly db: Database;
  private readonly wanted: () => Iterable<string>;
  private readonly options: Required<LeaseOptions>;
  private readonly log: Logger;
  private readonly held = new Map<string, Held>();
  /** Sessions whose lease ran out while the database could not be reached: whether another
   *  node took them meanwhile is learnt when it can be reached again. */
  private readonly cutOff = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `wanted`: the sessions this node should hold now (asked at every renewal). */
  constructor(deps: { db: Database; node: string; wanted: () => Iterable<string>; log: Logger }, options: LeaseOptions = DEFAULT_LEASE_OPTIONS) {
    super();
    this.db = deps.db;
    this.node = deps.node;
    this.wanted = deps.wanted;
    this.log = deps.log.child({ module: 'session-leases', node: deps.node });
    this.options = { now: Date.now, ...options };
    if (options.ttlMs <= SAFETY_MARGIN_MS + options.renewEveryMs) throw new Error('a lease must outlast a renewal interval and the safety margin');
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.options.renewEveryMs);
    this.timer.unref();
  }

  /** Whether this node holds the session's lease now (and may act as its owner). */
  holds(sessionId: string): boolean {
    const held = this.held.get(sessionId);
    return held !== undefined && this.options.now() < held.validUntil;
  }

  /**
   * Whether this node should act for the session where any node could (a day's timers): when it
   * holds it, or when no node does (nobody connected anywhere, or its holder's lease ran out).
   */
  actsFor(sessionId: string): boolean {
    if (this.holds(sessionId)) return true;
    const other = this.db.prepare('SELECT 1 AS held FROM session_leases WHERE session_id = ? AND node <> ? AND expires_at > ?').get(sessionId, this.node, this.options.now());
    return !other;
  }

  /** The fencing token this node holds for the session, if it holds it. */
  token(sessionId: string): number | undefined {
    return this.holds(sessionId) ? this.held.get(sessionId)!.token : undefined;
  }

  /**
   * Runs `store` in one transaction only if the database still says this node holds the
   * session under the token it knows: returns false (nothing stored) otherwise.
   */
  fenced(sessionId: string, store: () => void): boolean {
    const token = this.token(sessionId);
    if (token === undefined) return false;
    return transaction(this.db, () => {
      const current = this.db.prepare('SELECT 1 AS held FROM session_leases WHERE session_id = ? AND node = ? AND token = ? AND expires_at > ?').get(sessionId, this.node, token, this.options.now());
      if (!current) return false;
      store();
      return true;
    });
  }

  /** Renews what is held and still wanted, lets go of what is not, tries what is wanted. Never throws. */
  sweep(): void {
    if (this.closed) return;
    const now = this.options.now();
    let wanted: Set<string>;
    try {
      wanted = new Set(this.wanted());
    } catch (error) {
      this.log.error({ err: (error as Error).message }, 'which sessions this node should hold is unknown: leases renewed as they are');
      wanted = new Set();
      for (const held of this.held.values()) held.lastWanted = now;
    }
    const keep: string[] = [];
    for (const [sessionId, held] of [...this.held]) {
      if (wanted.has(sessionId)) held.lastWanted = now;
      if (now - held.lastWanted > this.options.keepMs) this.release(sessionId);
      else keep.push(sessionId);
    }
    this.renew(keep, now);
    for (const sessionId of this.cutOff) if (!wanted.has(sessionId)) this.cutOff.delete(sessionId);
    for (const sessionId of wanted) if (!this.held.has(sessionId)) this.tryAcquire(sessionId, now);
  }

  /** Lets go of every lease (another node may take them at once) and stops renewing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const sessionId of [...this.held.keys()]) this.release(sessionId);
  }

  private tryAcquire(sessionId: string, now: number): void {
    try {
      // Taken only if nobody holds it or its lease has expired; every takeover raises the token.
      const row = this.db
        .prepare(
          `INSERT INTO session_leases (session_id, node, token, expires_at) VALUES (?, ?, 1, ?)
           ON CONFLICT (session_id) DO UPDATE SET node = excluded.node, token = session_leases.token + 1, expires_at = excluded.expires_at
           WHERE session_leases.expires_at <= ?
           RETURNING token`,
        )
        .get(sessionId, this.node, now + this.options.ttlMs, now) as { token: number | bigint } | undefined;
      if (!row) {
        // Held by another node. If this one lost it only for want of the database, it was taken
        // over meanwhile: said as such once (its people here then follow the balancer there).
        if (this.cutOff.delete(sessionId)) {
          this.log.warn({ sessionId }, 'session lease lost while the database could not be reached: another node holds it now');
          this.emit('lost', sessionId, 'taken');
        }
        return;
      }
      this.cutOff.delete(sessionId);
      const token = Number(row.token);
      this.held.set(sessionId, { token, validUntil: now + this.options.ttlMs - SAFETY_MARGIN_MS, lastWanted: now });
      this.log.info({ sessionId, token }, 'session lease taken');
      this.emit('acquired', sessionId, token);
    } catch (error) {
      this.log.warn({ sessionId, err: (error as Error).message }, 'taking a session lease failed; tried again at the next renewal');
    }
  }

  /** Renews the leases of these sessions in one statement; those it did not renew are lost. */
  private renew(sessionIds: string[], now: number): void {
    if (sessionIds.length === 0) return;
    let renewed: Set<string>;
    try {
      // Each lease only under the token this node took it with (a lease taken over is not renewed).
      const rows = this.db
        .prepare(
          `UPDATE session_leases SET expires_at = ? WHERE node = ? AND (session_id || ':' || token) IN (${sessionIds.map(() => '?').join(', ')})
           RETURNING session_id`,
        )
        .all(now + this.options.ttlMs, this.node, ...sessionIds.map((id) => `${id}:${this.held.get(id)!.token}`)) as Array<{ session_id: string }>;
      renewed = new Set(rows.map((r) => r.session_id));
    } catch (error) {
      // Not renewed this time: each still held until it runs out, tried again at the next renewal.
      this.log.warn({ sessions: sessionIds.length, err: (error as Error).message }, 'renewing session leases failed');
      for (const id of sessionIds) if (!this.holds(id)) this.lost(id, 'unreachable');
      return;
    }
    for (const id of sessionIds) {
      if (renewed.has(id)) this.held.get(id)!.validUntil = now + this.options.ttlMs - SAFETY_MARGIN_MS;
      // Not renewed under this node's token (even one past its expiry would have been): taken.
      else this.lost(id, 'taken');
    }
  }

  private lost(sessionId: string, why: Exclude<LeaseLoss, 'released'>): void {
    const held = this.held.get(sessionId);
    if (!held) return;
    this.held.delete(sessionId);
    if (why === 'unreachable') this.cutOff.add(sessionId);
    this.log.warn(
      { sessionId, token: held.token, why },
      why === 'taken' ? 'session lease lost: another node took it over' : 'session lease lost: the database could not be reached before it ran out',
    );
    this.emit('lost', sessionId, why);
  }

  private release(sessionId: string): void {
    const held = this.held.get(sessionId);
    if (!held) return;
    this.held.delete(sessionId);
    try {
      this.db.prepare('UPDATE session_leases SET expires_at = 0 WHERE session_id = ? AND node = ? AND token = ?').run(sessionId, this.node, held.token);
    } catch (error) {
      this.log.warn({ sessionId, err: (error as Error).message }, 'letting go of a session lease failed: it runs out by itself');
    }
    this.log.info({ sessionId, token: held.token }, 'session lease let go');
    this.emit('lost', sessionId, 'released');
  }
}
