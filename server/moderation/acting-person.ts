// Who is acting in moderation. Until people accounts exist (a later issue) a person is known
// by the participant record they signed in with — one invite per session — so the same human
// may hold several records (say a moderator invite here and an observer invite there). The
// independence checks therefore compare records *and* names; the people-accounts issue
// replaces `actingPerson` and `samePerson` with account identity and leaves their callers be.
import type { Participant } from '../../shared/domain.ts';
import type { ActingPerson } from '../../shared/moderation.ts';
import { ROLE_LABELS, RoleSchema } from '../../shared/roles.ts';

export function actingPerson(participant: Participant): ActingPerson {
  return { participantId: participant.id, name: participant.displayName, role: participant.role };
}

/** A name as compared across records (case, spacing and Unicode forms aside). */
export const normalised = (name: string): string => name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();

/** The same person: the same participant record, or records under the same name (one human
 *  with two invites). Two different people who share a name are refused too: the safe side. */
export function samePerson(a: Pick<ActingPerson, 'participantId' | 'name'>, b: Pick<ActingPerson, 'participantId' | 'name'>): boolean {
  return a.participantId === b.participantId || normalised(a.name) === normalised(b.name);
}

/** "Helen Price (moderator)". */
export function personLabel(person: { name: string; role: string }): string {
  const role = RoleSchema.safeParse(person.role);
  return `${person.name} (${role.success ? ROLE_LABELS[role.data].toLowerCase() : person.role})`;
}
