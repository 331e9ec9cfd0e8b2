// Invite links: each participant's link in force (a row in invite_links), as a signed token
// whose jti names that row. Asking again for a participant's link gives the same link in
// force (a fresh signature of it); `reissue` revokes it and makes a new one.
import type { Participant } from '../shared/domain.ts';
import type { Database } from './db/database.ts';
import type { TokenService } from './auth/tokens.ts';
import { InviteLinksRepo, type InviteLink } from './auth/invite-links.ts';

const DAY_MS = 24 * 3600 * 1000;

export interface InviteLifetime {
  /** Without a planned day: how long a link lasts from when it is issued. */
  ttlSeconds: number;
  /** With one: the link lasts until the day's end plus this (candidates read their result). */
  resultPeriodDays: number;
}

export class Invites {
  private readonly tokens: TokenService;
  private readonly db: Database;
  private readonly lifetime: InviteLifetime;
  readonly links: InviteLinksRepo;

  constructor(tokens: TokenService, db: Database, lifetime: InviteLifetime) {
    this.tokens = tokens;
    this.db = db;
    this.lifetime = lifetime;
    this.links = new InviteLinksRepo(db);
  }

  async link(baseUrl: string, participant: Participant): Promise<string> {
    const link = this.links.current(participant.id) ?? this.links.create(participant.id, this.validUntil(participant));
    return this.url(baseUrl, participant, link);
  }

  /** The link in force for the coordinator's list: made at the first ask, but never again once
   *  withdrawn or run out (null then: only `reissue` makes a new one). */
  async current(baseUrl: string, participant: Participant): Promise<string | null> {
    const link = this.links.current(participant.id);
    if (link) return this.url(baseUrl, participant, link);
    if (this.links.everIssued(participant.id)) return null;
    return this.link(baseUrl, participant);
  }

  /** Revokes the participant's links and returns a new one. */
  async reissue(baseUrl: string, participant: Participant): Promise<string> {
    this.links.revokeAll(participant.id);
    return this.url(baseUrl, participant, this.links.create(participant.id, this.validUntil(participant)));
  }

  /** Ends the participant's links (and every browser signed in with them). */
  revoke(participant: Participant): number {
    return this.links.revokeAll(participant.id);
  }

  /** The session's day moved: every link in force lasts until the new day's end plus the
   *  result period (issue 15). Returns how many links changed. */
  moveWithDay(sessionId: string): number {
    const participants = this.db.prepare('SELECT id, session_id AS "sessionId" FROM participants WHERE session_id = ?').all(sessionId) as Array<{ id: string; sessionId: string }>;
    let moved = 0;
    for (const p of participants) {
      const until = new Date(this.validUntil({ sessionId: p.sessionId })).toISOString();
      const result = this.db.prepare('UPDATE invite_links SET valid_until = ? WHERE participant_id = ? AND revoked_at IS NULL AND valid_until > ?').run(until, p.id, new Date().toISOString());
      moved += Number(result.changes);
    }
    return moved;
  }

  private async url(baseUrl: string, participant: Participant, link: InviteLink): Promise<string> {
    const ttlSeconds = Math.max(1, Math.floor((link.validUntil - Date.now()) / 1000));
    const token = await this.tokens.sign('invite', { participantId: participant.id, sessionId: participant.sessionId, role: participant.role, linkId: link.id }, ttlSeconds);
    return `${baseUrl}/join/${token}`;
  }

  /** From booking until the planned day's end plus the result period. */
  private validUntil(participant: Pick<Participant, 'sessionId'>): number {
    const plan = this.db.prepare('SELECT scheduled_start FROM session_plans WHERE session_id = ?').get(participant.sessionId) as { scheduled_start: number | null } | undefined;
    const fromNow = Date.now() + this.lifetime.ttlSeconds * 1000;
    if (!plan?.scheduled_start) return fromNow;
    return Math.max(fromNow, plan.scheduled_start + DAY_MS + this.lifetime.resultPeriodDays * DAY_MS);
  }
}
