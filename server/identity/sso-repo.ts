// Where single sign-on keeps its state (issue 13): each organisation's provider settings, the
// sign-ins in progress (one per browser, used once), and which provider identity is whose.
// The client secret is stored sealed (secret-box.ts), bound to its organisation.
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { OidcPendingSchema, type OidcPending, type OidcSettings } from './oidc.ts';
import { SecretBox, SecretUnreadable } from './secret-box.ts';
import { hashSecret } from './secrets.ts';

/** An organisation's provider as its administrator sees it: never the client secret. */
export interface SsoSummary {
  issuer: string;
  clientId: string;
  /** False when the stored client secret no longer opens (the studio's secret changed). */
  secretReadable: boolean;
}

export class SsoRepo {
  private readonly db: Database;
  private readonly box: SecretBox;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(deps: { db: Database; signingSecret: Uint8Array; log: Logger }, now: () => number = Date.now) {
    this.db = deps.db;
    this.box = new SecretBox(deps.signingSecret, 'oidc client secret');
    this.log = deps.log.child({ module: 'sso' });
    this.now = now;
  }

  /** The provider settings to sign in with; none when unset or its client secret does not open. */
  settings(organisationId: string): OidcSettings | undefined {
    const row = this.row(organisationId);
    if (!row) return undefined;
    const clientSecret = this.openSecret(organisationId, row.client_secret);
    return clientSecret === undefined ? undefined : { issuer: row.issuer, clientId: row.client_id, clientSecret };
  }

  summary(organisationId: string): SsoSummary | undefined {
    const row = this.row(organisationId);
    return row && { issuer: row.issuer, clientId: row.client_id, secretReadable: this.openSecret(organisationId, row.client_secret) !== undefined };
  }

  save(organisationId: string, settings: OidcSettings): void {
    this.db
      .prepare(
        `INSERT INTO organisation_sso (organisation_id, issuer, client_id, client_secret, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (organisation_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret, updated_at = excluded.updated_at`,
      )
      .run(organisationId, settings.issuer, settings.clientId, this.box.seal(settings.clientSecret, organisationId), new Date(this.now()).toISOString());
  }

  /** Seals the client secrets an older studio stored in the clear; returns how many. */
  sealStoredInClear(): number {
    const rows = this.db.prepare('SELECT organisation_id, client_secret FROM organisation_sso').all() as Array<{ organisation_id: string; client_secret: string }>;
    let sealed = 0;
    for (const row of rows) {
      if (SecretBox.isSealed(row.client_secret)) continue;
      // Only if it is still the value read (an administrator may have saved a new one meanwhile).
      const changed = this.db
        .prepare('UPDATE organisation_sso SET client_secret = ? WHERE organisation_id = ? AND client_secret = ?')
        .run(this.box.seal(row.client_secret, row.organisation_id), row.organisation_id, row.client_secret);
      sealed += Number(changed.changes);
    }
    if (sealed > 0) this.log.info({ organisations: sealed }, 'single sign-on client secrets stored in the clear sealed');
    return sealed;
  }

  private row(organisationId: string): { issuer: string; client_id: string; client_secret: string } | undefined {
    return this.db.prepare('SELECT issuer, client_id, client_secret FROM organisation_sso WHERE organisation_id = ?').get(organisationId) as
      | { issuer: string; client_id: string; client_secret: string }
      | undefined;
  }

  private openSecret(organisationId: string, stored: string): string | undefined {
    // One an older studio (or node) stored in the clear still works until it is sealed.
    if (!SecretBox.isSealed(stored)) return stored;
    try {
      return this.box.open(stored, organisationId);
    } catch (error) {
      if (!(error instanceof SecretUnreadable)) throw error;
      this.log.warn({ organisationId }, "the organisation's single sign-on client secret does not open with this studio's secret (it changed?): its administrator must enter it again");
      return undefined;
    }
  }

  remove(organisationId: string): void {
    this.db.prepare('DELETE FROM organisation_sso WHERE organisation_id = ?').run(organisationId);
  }

  /** Organisations whose staff may sign in with their provider (for the sign-in page). */
  organisationsWithSso(): Array<{ id: string; name: string }> {
    return this.db.prepare('SELECT o.id, o.name FROM organisations o JOIN organisation_sso s ON s.organisation_id = o.id ORDER BY o.name').all() as Array<{
      id: string;
      name: string;
    }>;
  }

  /** Keeps the browser's attempt (replacing an older one of the same browser). */
  begin(browserSecret: string, organisationId: string, pending: OidcPending): void {
    this.db.prepare('DELETE FROM oidc_attempts WHERE expires_at < ?').run(new Date(this.now()).toISOString());
    this.db
      .prepare(`INSERT INTO oidc_attempts (browser_hash, organisation_id, pending, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (browser_hash) DO UPDATE SET organisation_id = excluded.organisation_id, pending = excluded.pending, expires_at = excluded.expires_at`)
      .run(hashSecret(browserSecret), organisationId, JSON.stringify(pending), new Date(pending.expiresAt).toISOString());
  }

  /** The browser's attempt, removed as it is read: each attempt is completed at most once. */
  take(browserSecret: string): { organisationId: string; pending: OidcPending } | undefined {
    const hash = hashSecret(browserSecret);
    const row = this.db.prepare('SELECT organisation_id, pending FROM oidc_attempts WHERE browser_hash = ?').get(hash) as { organisation_id: string; pending: string } | undefined;
    if (!row) return undefined;
    this.db.prepare('DELETE FROM oidc_attempts WHERE browser_hash = ?').run(hash);
    const pending = OidcPendingSchema.safeParse(JSON.parse(row.pending));
    return pending.success ? { organisationId: row.organisation_id, pending: pending.data } : undefined;
  }

  personFor(issuer: string, subject: string): string | undefined {
    const row = this.db.prepare('SELECT person_id FROM person_identities WHERE issuer = ? AND subject = ?').get(issuer, subject) as { person_id: string } | undefined;
    return row?.person_id;
  }

  /** The provider identity of a person, and whether the person already has another one there. */
  identityOf(personId: string, issuer: string): string | undefined {
    const row = this.db.prepare('SELECT subject FROM person_identities WHERE person_id = ? AND issuer = ?').get(personId, issuer) as { subject: string } | undefined;
    return row?.subject;
  }

  link(personId: string, issuer: string, subject: string): void {
    this.db.prepare('INSERT INTO person_identities (issuer, subject, person_id, linked_at) VALUES (?, ?, ?, ?)').run(issuer, subject, personId, new Date(this.now()).toISOString());
  }
}
