// Email sign-in links (issue 13): single use, short-lived, and bound to the browser that asked
// for one (a cookie whose hash is stored with the link), so a link read from someone else's
// mailbox, or forwarded, signs nobody in. Links made by an operator (first run, `npm run
// admin`) are handed over out of band and have no browser to be bound to.
import type { Database } from '../db/database.ts';
import { hashSecret, newSecret, SECRET_PATTERN } from './secrets.ts';

export type MagicLinkPurpose = 'email' | 'first-run' | 'admin-link';

interface MagicLinkRow {
  token_hash: string;
  person_id: string;
  browser_hash: string | null;
  purpose: MagicLinkPurpose;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export type MagicLinkUse =
  | { ok: true; personId: string; purpose: MagicLinkPurpose }
  | { ok: false; reason: 'unknown' | 'used' | 'expired' | 'other-browser'; personId?: string };

export const MAGIC_LINK_SECONDS = 15 * 60;
export const OPERATOR_LINK_SECONDS = 24 * 3600;
/** At most this many email links per person in MAGIC_LINK_SECONDS: more is someone hammering the form. */
export const MAGIC_LINKS_PER_WINDOW = 5;

export class MagicLinks {
  private readonly db: Database;
  private readonly now: () => number;

  constructor(db: Database, now: () => number = Date.now) {
    this.db = db;
    this.now = now;
  }

  /** A new link's token. `browserSecret` binds it to that browser (null: an operator's link). */
  issue(personId: string, purpose: MagicLinkPurpose, browserSecret: string | null): string {
    const token = newSecret();
    const now = this.now();
    const ttl = purpose === 'email' ? MAGIC_LINK_SECONDS : OPERATOR_LINK_SECONDS;
    this.db
      .prepare('INSERT INTO magic_links (token_hash, person_id, browser_hash, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hashSecret(token), personId, browserSecret === null ? null : hashSecret(browserSecret), purpose, iso(now), iso(now + ttl * 1000));
    return token;
  }

  /** Whether the person may be sent another email link now. */
  mayIssue(personId: string): boolean {
    const since = iso(this.now() - MAGIC_LINK_SECONDS * 1000);
    const { n } = this.db.prepare("SELECT COUNT(*) AS n FROM magic_links WHERE person_id = ? AND purpose = 'email' AND created_at > ?").get(personId, since) as { n: number };
    return n < MAGIC_LINKS_PER_WINDOW;
  }

  /** Uses the link once: marks it used whether or not the sign-in goes on to succeed. */
  consume(token: string, browserSecret: string | undefined): MagicLinkUse {
    if (!SECRET_PATTERN.test(token)) return { ok: false, reason: 'unknown' };
    const hash = hashSecret(token);
    const row = this.db.prepare('SELECT * FROM magic_links WHERE token_hash = ?').get(hash) as MagicLinkRow | undefined;
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.used_at) return { ok: false, reason: 'used', personId: row.person_id };
    if (this.now() >= Date.parse(row.expires_at)) return { ok: false, reason: 'expired', personId: row.person_id };
    // Opened elsewhere: refused but not spent, so the right browser can still use it.
    if (row.browser_hash !== null && (!browserSecret || hashSecret(browserSecret) !== row.browser_hash)) {
      return { ok: false, reason: 'other-browser', personId: row.person_id };
    }
    const claimed = this.db.prepare('UPDATE magic_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL').run(iso(this.now()), hash);
    if (Number(claimed.changes) !== 1) return { ok: false, reason: 'used', personId: row.person_id };
    return { ok: true, personId: row.person_id, purpose: row.purpose };
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
