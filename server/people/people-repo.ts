// Organisations and the people in them (issue 13). A person holds roles in their organisation;
// removing a person keeps the row (sessions and the audit still name them) but ends their
// sign-in and frees their email address for someone new.
import { randomUUID } from 'node:crypto';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { NewPerson, Organisation, OrgRole, Person, PersonChange } from '../../shared/people.ts';
import { transaction, type Database } from '../db/database.ts';

interface OrganisationRow {
  id: string;
  name: string;
  created_at: string;
}
interface PersonRow {
  id: string;
  organisation_id: string;
  display_name: string;
  email: string | null;
  candidate_ref: string | null;
  created_at: string;
  removed_at: string | null;
  roles: string | null;
}

const PERSON_SELECT = `SELECT p.*, (SELECT string_agg(role, ',') FROM person_roles r WHERE r.person_id = p.id) AS roles FROM people p`;

const toOrganisation = (r: OrganisationRow): Organisation => ({ id: r.id, name: r.name, createdAt: r.created_at });
const toPerson = (r: PersonRow): Person => ({
  id: r.id,
  organisationId: r.organisation_id,
  displayName: r.display_name,
  email: r.email,
  candidateRef: r.candidate_ref,
  roles: (r.roles ? r.roles.split(',') : []).sort() as OrgRole[],
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

export class PeopleRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  createOrganisation(name: string): Organisation {
    const organisation: Organisation = { id: randomUUID(), name: name.trim(), createdAt: new Date().toISOString() };
    if (!organisation.name || organisation.name.length > 200) throw new ProtocolFailure('INVALID_PAYLOAD', 'an organisation needs a name of up to 200 characters');
    this.db.prepare('INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)').run(organisation.id, organisation.name, organisation.createdAt);
    return organisation;
  }

  organisation(id: string): Organisation | undefined {
    const row = this.db.prepare('SELECT * FROM organisations WHERE id = ?').get(id) as OrganisationRow | undefined;
    return row && toOrganisation(row);
  }

  organisations(): Organisation[] {
    return (this.db.prepare('SELECT * FROM organisations ORDER BY created_at, rowid').all() as unknown as OrganisationRow[]).map(toOrganisation);
  }

  /** Adds a person; their email is unique among the organisation's current people. */
  create(organisationId: string, input: NewPerson): Person {
    if (!this.organisation(organisationId)) throw new ProtocolFailure('NOT_FOUND', 'no such organisation');
    const now = new Date().toISOString();
    const id = randomUUID();
    transaction(this.db, () => {
      if (input.email && this.byEmail(organisationId, input.email)) {
        throw new ProtocolFailure('CONFLICT', `${input.email} already belongs to someone in this organisation`);
      }
      this.db
        .prepare('INSERT INTO people (id, organisation_id, display_name, email, candidate_ref, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, organisationId, input.displayName, input.email ?? null, input.candidateRef ?? null, now);
      const grant = this.db.prepare('INSERT INTO person_roles (person_id, role) VALUES (?, ?)');
      for (const role of input.roles) grant.run(id, role);
    });
    return this.get(id)!;
  }

  get(id: string): Person | undefined {
    const row = this.db.prepare(`${PERSON_SELECT} WHERE p.id = ?`).get(id) as PersonRow | undefined;
    return row && toPerson(row);
  }

  /** A current (not removed) person of the organisation with this email. */
  byEmail(organisationId: string, email: string): Person | undefined {
    const row = this.db
      .prepare(`${PERSON_SELECT} WHERE p.organisation_id = ? AND p.email = ? AND p.removed_at IS NULL`)
      .get(organisationId, email.toLowerCase()) as PersonRow | undefined;
    return row && toPerson(row);
  }

  /** Current people with this email in any organisation (one address may serve two bodies). */
  everyWithEmail(email: string): Person[] {
    const rows = this.db.prepare(`${PERSON_SELECT} WHERE p.email = ? AND p.removed_at IS NULL ORDER BY p.created_at`).all(email.toLowerCase()) as unknown as PersonRow[];
    return rows.map(toPerson);
  }

  /** The organisation's candidate with this reference, if they are already a person there. */
  candidateByRef(organisationId: string, candidateRef: string): Person | undefined {
    const row = this.db
      .prepare(`${PERSON_SELECT} WHERE p.organisation_id = ? AND p.candidate_ref = ? AND p.removed_at IS NULL ORDER BY p.created_at LIMIT 1`)
      .get(organisationId, candidateRef) as PersonRow | undefined;
    return row && toPerson(row);
  }

  list(organisationId: string, options: { includeRemoved?: boolean } = {}): Person[] {
    const rows = this.db
      .prepare(`${PERSON_SELECT} WHERE p.organisation_id = ? ${options.includeRemoved ? '' : 'AND p.removed_at IS NULL'} ORDER BY lower(p.display_name), p.created_at`)
      .all(organisationId) as unknown as PersonRow[];
    return rows.map(toPerson);
  }

  /** Changes a current person; an email already someone else's in the organisation is refused. */
  change(personId: string, change: PersonChange): Person {
    return transaction(this.db, () => {
      const person = this.get(personId);
      if (!person || person.removedAt) throw new ProtocolFailure('NOT_FOUND', 'no such person');
      if (change.email !== undefined && change.email !== person.email) {
        const holder = this.byEmail(person.organisationId, change.email);
        if (holder && holder.id !== personId) throw new ProtocolFailure('CONFLICT', `${change.email} already belongs to someone in this organisation`);
        this.db.prepare('UPDATE people SET email = ? WHERE id = ?').run(change.email, personId);
      }
      if (change.displayName !== undefined) this.db.prepare('UPDATE people SET display_name = ? WHERE id = ?').run(change.displayName, personId);
      for (const role of change.addRoles ?? []) this.grant(personId, role);
      return this.get(personId)!;
    });
  }

  grant(personId: string, role: OrgRole): void {
    this.db.prepare('INSERT INTO person_roles (person_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING').run(personId, role);
  }

  /** Marks the person removed (idempotent); returns whether they were current until now. */
  remove(personId: string): boolean {
    const result = this.db.prepare('UPDATE people SET removed_at = ? WHERE id = ? AND removed_at IS NULL').run(new Date().toISOString(), personId);
    return Number(result.changes) === 1;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM people').get() as { n: number }).n;
  }
}
