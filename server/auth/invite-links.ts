// The invite links of candidates and actors (issue 13) as rows: a link's token names its row
// (jti), so a link can be revoked and reissued without touching anyone else's, and a browser
// signed in with it stops working the moment it is revoked.
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { placeHasEnded, type PlaceEndings } from '../db/sessions-repo.ts';

export type LinkCheck = 'ok' | 'revoked' | 'expired' | 'unknown';

interface InviteLinkRow {
  id: string;
  participant_id: string;
  issued_at: string;
  valid_until: string;
  revoked_at: string | null;
}

export interface InviteLink {
  id: string;
  participantId: string;
  validUntil: number;
}

export class InviteLinksRepo {
  private readonly db: Database;
  private readonly now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  /** The participant's link in force, if any (the newest). */
  current(participantId: string): InviteLink | undefined {
    const row = this.db
      .prepare('SELECT * FROM invite_links WHERE participant_id = ? AND revoked_at IS NULL AND valid_until > ? ORDER BY issued_at DESC, rowid DESC LIMIT 1')
      .get(participantId, iso(this.now())) as InviteLinkRow | undefined;
    return row && { id: row.id, participantId: row.participant_id, validUntil: Date.parse(row.valid_until) };
  }

  /** Whether the participant was ever given a link (then a missing one was withdrawn or ran out). */
  everIssued(participantId: string): boolean {
    return this.db.prepare('SELECT 1 FROM invite_links WHERE participant_id = ? LIMIT 1').get(participantId) !== undefined;
  }

  create(participantId: string, validUntil: number): InviteLink {
    const link = { id: randomUUID(), participantId, validUntil };
    this.db.prepare('INSERT INTO invite_links (id, participant_id, issued_at, valid_until) VALUES (?, ?, ?, ?)').run(link.id, participantId, iso(this.now()), iso(validUntil));
    return link;
  }

  /** Ends every link of the participant; returns how many were in force. */
  revokeAll(participantId: string): number {
    const result = this.db.prepare('UPDATE invite_links SET revoked_at = ? WHERE participant_id = ? AND revoked_at IS NULL').run(iso(this.now()), participantId);
    return Number(result.changes);
  }

  /**
   * Whether each sign-in by a link still holds (live connections ask every few seconds): the
   * link is the participant's, neither revoked nor expired, their place has not ended and their
   * person is not removed. One read for all of them (connections are checked in slices: on
   * PostgreSQL each read is a round trip the serving thread waits for).
   */
  holdAll(links: ReadonlyArray<{ linkId: string; participantId: string }>): boolean[] {
    if (links.length === 0) return [];
    const ids = [...new Set(links.map((l) => l.linkId))];
    const rows = this.db
      .prepare(
        `SELECT l.id, l.participant_id, l.revoked_at, l.valid_until, p.replaced_at, s.cancelled_at, s.no_show_at, pe.removed_at
           FROM invite_links l JOIN participants p ON p.id = l.participant_id JOIN sessions s ON s.id = p.session_id
           LEFT JOIN people pe ON pe.id = p.person_id
          WHERE l.id IN (${ids.map(() => '?').join(', ')})`,
      )
      .all(...ids) as unknown as Array<LinkValidity & PlaceEndings & { id: string; participant_id: string; removed_at: string | null }>;
    const byId = new Map(rows.map((row) => [row.id, row]));
    return links.map(({ linkId, participantId }) => {
      const row = byId.get(linkId);
      return row !== undefined && row.participant_id === participantId && this.validity(row) === 'ok' && !placeHasEnded(row) && !row.removed_at;
    });
  }

  check(linkId: string, participantId: string): LinkCheck {
    const row = this.db.prepare('SELECT * FROM invite_links WHERE id = ?').get(linkId) as InviteLinkRow | undefined;
    if (!row || row.participant_id !== participantId) return 'unknown';
    return this.validity(row);
  }

  /** A link of the participant's own: ended by revocation or by time, or in force. */
  private validity(row: LinkValidity): Exclude<LinkCheck, 'unknown'> {
    if (row.revoked_at) return 'revoked';
    if (this.now() >= Date.parse(row.valid_until)) return 'expired';
    return 'ok';
  }
}

interface LinkValidity {
  revoked_at: string | null;
  valid_until: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
