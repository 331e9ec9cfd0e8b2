// Who is acting in moderation. Each participant record is one person's place in a session
// (issue 13), so the same human holds several records (a moderator place here, an observer
// place there) under one person id. The independence checks compare person ids; records from
// before people existed, or one human booked twice as two people, are still caught by name.
import { RoleSchema, type Participant } from '../../shared/domain.ts';
import type { ActingPerson } from '../../shared/moderation.ts';
import { ROLE_LABELS } from '../../shared/roles.ts';

export function actingPerson(participant: Participant): ActingPerson {
  return { participantId: participant.id, name: participant.displayName, role: participant.role, ...(participant.personId ? { personId: participant.personId } : {}) };
}

/** A name as compared across records (case, spacing and Unicode forms aside). */
export const normalised = (name: string): string => name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** The same person: the same participant record, the same person id, or records under the same
 *  name (one human booked twice as two people). Two different people who share a name are
 *  refused too: the safe side. */
export function samePerson(a: Pick<ActingPerson, 'participantId' | 'name' | 'personId'>, b: Pick<ActingPerson, 'participantId' | 'name' | 'personId'>): boolean {
  if (a.participantId === b.participantId) return true;
  if (a.personId !== undefined && a.personId === b.personId) return true;
  return normalised(a.name) === normalised(b.name);
}

/** "Helen Price (moderator)". */
export function personLabel(person: { name: string; role: string }): string {
  const role = RoleSchema.safeParse(person.role);
  return `${person.name} (${role.success ? ROLE_LABELS[role.data].toLowerCase() : person.role})`;
}
