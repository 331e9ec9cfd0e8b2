// Staff sign-in sessions and magic links against a real database, their clocks injected: a
// session ends after its idle time without use and at its absolute limit however busy it is;
// a magic link ends at its lifetime (15 minutes from the page, 24 hours from an operator) and
// the rate limit counts a sliding window.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/database.ts';
import { MAGIC_LINK_SECONDS, MAGIC_LINKS_PER_WINDOW, MagicLinks, OPERATOR_LINK_SECONDS } from '../../server/identity/magic-links.ts';
import { newSecret } from '../../server/identity/secrets.ts';
import { StaffSessions } from '../../server/identity/staff-sessions.ts';
import { PeopleRepo } from '../../server/people/people-repo.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TIMEOUTS = { idleSeconds: 2 * 3600, absoluteSeconds: 12 * 3600 };

const open: Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function setUp() {
  const db = openDatabase(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-staff-sessions-')));
  open.push(db);
  const people = new PeopleRepo(db);
  const organisation = people.createOrganisation('Northshire');
  const person = people.create(organisation.id, { displayName: 'Priya Shah', email: 'priya@northshire.example', roles: ['leadObserver'] });
  let now = Date.parse('2026-03-02T09:00:00Z');
  const clock = { now: () => now, advance: (ms: number) => void (now += ms) };
  const sessions = new StaffSessions({ db, people, timeouts: TIMEOUTS, now: clock.now });
  const links = new MagicLinks(db, clock.now);
  return { db, people, person, clock, sessions, links };
}

describe('staff sessions', () => {
  it('ends after the idle time without use, and lists only open sessions', () => {
    const { person, clock, sessions } = setUp();
    const { secret, id, maxAgeSeconds } = sessions.create(person.id, 'magic-link', 'Firefox');
    expect(maxAgeSeconds).toBe(TIMEOUTS.absoluteSeconds);
    expect(sessions.verify(secret)).toMatchObject({ ok: true, sessionId: id, person: { id: person.id } });

    clock.advance(2 * HOUR - MINUTE);
    expect(sessions.verify(secret).ok).toBe(true);
    expect(sessions.list(person.id, id)).toMatchObject([{ id, current: true, method: 'magic-link', userAgent: 'Firefox' }]);
    // That use counts: idle time runs from it.
    clock.advance(2 * HOUR - MINUTE);
    expect(sessions.verify(secret).ok).toBe(true);

    clock.advance(2 * HOUR);
    expect(sessions.verify(secret)).toEqual({ ok: false, reason: 'expired' });
    expect(sessions.list(person.id)).toEqual([]);
  });

  it('ends at the absolute limit, however often it is used', () => {
    const { person, clock, sessions } = setUp();
    const { secret, id } = sessions.create(person.id, 'oidc', 'Chromium');
    const signedInAt = clock.now();
    for (let t = 0; t < 12 * HOUR - 30 * MINUTE; t += 30 * MINUTE) {
      expect(sessions.verify(secret).ok).toBe(true);
      clock.advance(30 * MINUTE);
    }
    expect(clock.now() - signedInAt).toBe(12 * HOUR - 30 * MINUTE);
    const [open] = sessions.list(person.id, id);
    // The list says when it ends: the absolute limit, now nearer than the idle one.
    expect(open?.expiresAt).toBe(new Date(signedInAt + 12 * HOUR).toISOString());
    expect(sessions.verify(secret).ok).toBe(true);

    clock.advance(30 * MINUTE);
    expect(sessions.verify(secret)).toEqual({ ok: false, reason: 'expired' });
    expect(sessions.list(person.id)).toEqual([]);
  });

  it('refuses a revoked session, a removed person, and secrets it never issued', () => {
    const { people, person, sessions } = setUp();
    const a = sessions.create(person.id, 'magic-link', 'A');
    const b = sessions.create(person.id, 'magic-link', 'B');
    expect(sessions.list(person.id, a.id).map((s) => [s.id, s.current]).sort()).toEqual([[a.id, true], [b.id, false]].sort());

    expect(sessions.revoke(person.id, a.id)).toBe(true);
    expect(sessions.revoke(person.id, a.id)).toBe(false);
    expect(sessions.verify(a.secret)).toEqual({ ok: false, reason: 'invalid' });
    expect(sessions.verify(b.secret).ok).toBe(true);

    people.remove(person.id);
    expect(sessions.verify(b.secret)).toEqual({ ok: false, reason: 'invalid' });
    expect(sessions.verify(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(sessions.verify(newSecret())).toEqual({ ok: false, reason: 'invalid' });
    expect(sessions.verify('not a secret')).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('magic links', () => {
  it('an email link works until 15 minutes after it was sent, not after', () => {
    const { person, clock, links } = setUp();
    const browser = newSecret();
    const early = links.issue(person.id, 'email', browser);
    const late = links.issue(person.id, 'email', browser);

    clock.advance(MAGIC_LINK_SECONDS * 1000 - 1);
    expect(links.consume(early, browser)).toEqual({ ok: true, personId: person.id, purpose: 'email' });
    clock.advance(1);
    expect(links.consume(late, browser)).toEqual({ ok: false, reason: 'expired', personId: person.id });
  });

  it("an operator's link lasts 24 hours, in any browser", () => {
    const { person, clock, links } = setUp();
    const first = links.issue(person.id, 'admin-link', null);
    const second = links.issue(person.id, 'first-run', null);
    clock.advance(OPERATOR_LINK_SECONDS * 1000 - 1);
    expect(links.consume(first, undefined)).toEqual({ ok: true, personId: person.id, purpose: 'admin-link' });
    clock.advance(1);
    expect(links.consume(second, newSecret())).toEqual({ ok: false, reason: 'expired', personId: person.id });
  });

  it('allows 5 email links in 15 minutes, then more once the oldest is older than that', () => {
    const { person, clock, links } = setUp();
    for (let i = 0; i < MAGIC_LINKS_PER_WINDOW; i++) {
      expect(links.mayIssue(person.id)).toBe(true);
      links.issue(person.id, 'email', newSecret());
      clock.advance(MINUTE);
    }
    expect(links.mayIssue(person.id)).toBe(false);
    // Links an operator hands over do not count.
    links.issue(person.id, 'admin-link', null);
    // The first was sent 5 minutes ago: 10 more minutes and it leaves the window.
    clock.advance(MAGIC_LINK_SECONDS * 1000 - MAGIC_LINKS_PER_WINDOW * MINUTE - 1);
    expect(links.mayIssue(person.id)).toBe(false);
    clock.advance(1);
    expect(links.mayIssue(person.id)).toBe(true);
  });
});
