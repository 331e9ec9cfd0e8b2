// The way in on a new installation (issue 13): with no administrator anywhere, `npm start`
// makes the demo organisation's administrator and prints a one-time sign-in link; until an
// administrator has signed in, each start prints a fresh one. After that, `npm run admin`
// makes organisations and administrators and resets sign-in.
import type { Database } from '../db/database.ts';
import type { MagicLinks } from '../identity/magic-links.ts';
import type { PeopleRepo } from './people-repo.ts';

export const FIRST_ORGANISATION_NAME = 'Demo organisation';

/** The first administrator's one-time sign-in path (`/auth/magic/…`), or null when an
 *  administrator has already signed in. */
export function firstRunSignIn(deps: { db: Database; people: PeopleRepo; magicLinks: MagicLinks }, adminEmail?: string): string | null {
  const admins = deps.db
    .prepare("SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id WHERE r.role = 'administrator' AND p.removed_at IS NULL ORDER BY p.created_at")
    .all() as Array<{ id: string }>;
  if (admins.length > 0) {
    const signedIn = deps.db.prepare(`SELECT 1 FROM staff_sessions WHERE person_id IN (${admins.map(() => '?').join(',')}) LIMIT 1`).get(...admins.map((a) => a.id));
    if (signedIn) return null;
    return `/auth/magic/${deps.magicLinks.issue(admins[0]!.id, 'first-run', null)}`;
  }
  const organisation = deps.people.organisations()[0] ?? deps.people.createOrganisation(FIRST_ORGANISATION_NAME);
  const admin = deps.people.create(organisation.id, { displayName: 'Administrator', roles: ['administrator'], ...(adminEmail ? { email: adminEmail } : {}) });
  return `/auth/magic/${deps.magicLinks.issue(admin.id, 'first-run', null)}`;
}
