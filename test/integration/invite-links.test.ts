// Revocable, reissuable invite links (issue 13): each link is a row; reissuing revokes the old
// one and every browser signed in with it; live connections of a withdrawn link close within a
// few seconds; a person with a staff account has no link at all; every step is audited.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLOSE_CODES, collabDocName } from '../../shared/collab.ts';
import type { InviteRow, MeResponse } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { RawCollabClient, collabUrl } from '../helpers/collab-client.ts';
import { connect, connected, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: BookedDay;
let coordinatorCookie: string;

beforeAll(async () => {
  studio = await startTestStudio();
  day = bookShortDay(studio, 60);
  coordinatorCookie = await signIn(studio, day.coordinator);
});

afterAll(async () => {
  await studio.close();
});

const inviteUrl = (participant: Participant) =>
  `${studio.baseUrl}/api/studio/sessions/${day.sessionId}/participants/${participant.id}/invite?participantId=${day.coordinator.id}`;

async function me(participant: Participant, cookie: string): Promise<number> {
  return (await fetch(`${studio.baseUrl}/api/me?participantId=${participant.id}`, { headers: { cookie } })).status;
}

const auditActions = (): string[] => studio.audit.list(day.sessionId).map((e) => e.action);

describe('invite links', () => {
  it('last from booking until the day ends plus the result period, not a fixed fortnight', async () => {
    await studio.invites.link(studio.baseUrl, day.candidate);
    const link = studio.invites.links.current(day.candidate.id)!;
    const planned = studio.assessment.plans.plan(day.sessionId)!.scheduledStart!;
    expect(link.validUntil).toBe(planned + 24 * 3600_000 + studio.config.resultPeriodDays * 24 * 3600_000);
    // Asking again gives the same link in force, not a new one.
    await studio.invites.link(studio.baseUrl, day.candidate);
    expect(studio.invites.links.current(day.candidate.id)!.id).toBe(link.id);
  });

  it('reissue: the old link and the browser signed in with it stop working; the new one works', async () => {
    const oldLink = await studio.invites.link(studio.baseUrl, day.candidate);
    const oldCookie = await signIn(studio, day.candidate);
    expect(await me(day.candidate, oldCookie)).toBe(200);

    const res = await fetch(inviteUrl(day.candidate), { method: 'POST', headers: { cookie: coordinatorCookie } });
    expect(res.status).toBe(200);
    const row = (await res.json()) as InviteRow;
    expect(row.link).toMatch(/\/join\//);
    expect(row.link).not.toBe(oldLink);

    const refused = await fetch(oldLink, { redirect: 'manual' });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('withdrawn or replaced');
    expect(await me(day.candidate, oldCookie)).toBe(401);

    const fresh = await fetch(row.link!, { redirect: 'manual' });
    expect(fresh.status).toBe(303);
    const cookie = /simstudio_p_[^=]+=[^;]+/.exec(fresh.headers.get('set-cookie') ?? '')![0];
    expect(await me(day.candidate, cookie)).toBe(200);
    expect(auditActions()).toEqual(expect.arrayContaining(['invite.reissued', 'invite.refused']));
    const reissued = studio.audit.list(day.sessionId).find((e) => e.action === 'invite.reissued')!;
    expect(reissued.actor?.participantId).toBe(day.coordinator.id);
  });

  it('withdraw: the link is refused until a new one is issued; only the coordinator may do it', async () => {
    const link = await studio.invites.link(studio.baseUrl, day.actor1);
    const actorCookie = await signIn(studio, day.actor1);
    // The actor cannot withdraw links (not a coordinator), not even their own.
    const byActor = await fetch(`${studio.baseUrl}/api/studio/sessions/${day.sessionId}/participants/${day.actor1.id}/invite?participantId=${day.actor1.id}`, {
      method: 'DELETE',
      headers: { cookie: actorCookie },
    });
    expect(byActor.status).toBe(403);
    expect(await me(day.actor1, actorCookie)).toBe(200);

    const res = await fetch(inviteUrl(day.actor1), { method: 'DELETE', headers: { cookie: coordinatorCookie } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { revoked: number }).revoked).toBe(1);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    expect(await me(day.actor1, actorCookie)).toBe(401);
    expect(auditActions()).toContain('invite.revoked');
  });

  it('staff have no link to reissue or withdraw: they sign in as themselves', async () => {
    for (const staff of [day.lead, day.observer, day.coordinator]) {
      const res = await fetch(inviteUrl(staff), { method: 'POST', headers: { cookie: coordinatorCookie } });
      expect(res.status).toBe(409);
    }
    const list = await fetch(`${studio.baseUrl}/api/studio/sessions/${day.sessionId}/invites?participantId=${day.coordinator.id}`, { headers: { cookie: coordinatorCookie } });
    const rows = (await list.json()) as InviteRow[];
    expect(rows.filter((r) => r.link !== null).map((r) => r.role).sort()).toEqual(['actor', 'candidate']);
    // The withdrawn link stays withdrawn when the list is looked at again (no new link by itself).
    expect(rows.find((r) => r.participantId === day.actor1.id)).toMatchObject({ link: null, withdrawn: true });
    expect(studio.invites.links.current(day.actor1.id)).toBeUndefined();
  });

  it('a participant of another session cannot be reissued through this one', async () => {
    const other = bookShortDay(studio, 60);
    const res = await fetch(`${studio.baseUrl}/api/studio/sessions/${day.sessionId}/participants/${other.candidate.id}/invite?participantId=${day.coordinator.id}`, {
      method: 'POST',
      headers: { cookie: coordinatorCookie },
    });
    expect(res.status).toBe(404);
    expect(studio.invites.links.current(other.candidate.id)).toBeUndefined();
  });

  it('live connections of a withdrawn link close within 5 s: signalling and collaboration', async () => {
    const cookie = await signIn(studio, day.lead);
    const socket = connect(studio, day.lead.id, cookie);
    await connected(socket);
    const signedOut = new Promise<void>((resolve) => socket.once('signedOut', () => resolve()));
    const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    const collab = new RawCollabClient(collabUrl(studio.baseUrl, collabDocName(day.sessionId, 'rubric'), day.lead.id), { cookie });
    await collab.synced;

    // Staff links are the operator's (the studio hands out none); the operator withdraws it.
    const revokedAt = Date.now();
    expect(studio.invites.revoke(day.lead)).toBe(1);
    await Promise.all([signedOut, disconnected]);
    const closed = await collab.closed;
    expect(closed.code).toBe(CLOSE_CODES.Unauthorized);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    socket.close();
  });

  it('removing a person ends their sign-in: their live connection closes within 5 s and their link is refused', async () => {
    const cookie = await signIn(studio, day.actor2);
    const link = await studio.invites.link(studio.baseUrl, day.actor2);
    const socket = connect(studio, day.actor2.id, cookie);
    await connected(socket);
    const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    const removedAt = Date.now();
    expect(studio.people.remove(day.actor2.personId!)).toBe(true);
    await disconnected;
    expect(Date.now() - removedAt).toBeLessThan(5_000);
    expect(await me(day.actor2, cookie)).toBe(401);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
    socket.close();
  });

  it('is governed by its row, not by the expiry signed into it: good while the row is (the day moved later), refused once the row has expired', async () => {
    await studio.invites.link(studio.baseUrl, day.actor1);
    const row = studio.invites.links.current(day.actor1.id)!;
    // Signed 200 days ago to last 100 days, as if before the session moved months later: the
    // token's own expiry has passed, its link row's has not.
    const claims = { participantId: day.actor1.id, sessionId: day.sessionId, role: day.actor1.role, linkId: row.id };
    const longAgo = async (sign: () => Promise<string>): Promise<string> => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 200 * 86_400_000 });
      try {
        return await sign();
      } finally {
        vi.useRealTimers();
      }
    };
    const token = await longAgo(() => studio.tokens.sign('invite', claims, 100 * 86_400));
    expect(await studio.tokens.verify('invite', token)).toEqual({ ok: true, claims });
    expect((await fetch(`${studio.baseUrl}/join/${token}`, { redirect: 'manual' })).status).toBe(303);
    // Forged: the same claims under another key are refused, expired or not.
    const { TokenService } = await import('../../server/auth/tokens.ts');
    const forged = await longAgo(() => new TokenService(new Uint8Array(32).fill(7)).sign('invite', claims, 100 * 86_400));
    expect(await studio.tokens.verify('invite', forged)).toEqual({ ok: false, reason: 'invalid' });
    // A session cookie's expiry is its own: no row speaks for it.
    expect(await studio.tokens.verify('session', await longAgo(() => studio.tokens.sign('session', claims, 100 * 86_400)))).toEqual({ ok: false, reason: 'expired' });
    // Once the row itself has expired, the link is refused as expired.
    studio.db.prepare('UPDATE invite_links SET valid_until = ? WHERE id = ?').run(new Date(Date.now() - 1000).toISOString(), row.id);
    const refused = await fetch(`${studio.baseUrl}/join/${token}`, { redirect: 'manual' });
    expect(refused.status).toBe(401);
  });

  it('links checked together in one read: each verdict is its own link’s', async () => {
    const other = bookShortDay(studio, 120);
    for (const p of [other.candidate, other.actor1, other.actor2]) await studio.invites.link(studio.baseUrl, p);
    const linkOf = (p: Participant) => studio.invites.links.current(p.id)!.id;
    const [candidate, actor1, actor2] = [linkOf(other.candidate), linkOf(other.actor1), linkOf(other.actor2)];
    expect(studio.invites.revoke(other.actor1)).toBe(1);
    expect(
      studio.invites.links.holdAll([
        { linkId: candidate, participantId: other.candidate.id },
        { linkId: actor1, participantId: other.actor1.id }, // withdrawn
        { linkId: actor2, participantId: other.actor2.id },
        { linkId: actor2, participantId: other.candidate.id }, // someone else's link
        { linkId: 'no-such-link', participantId: other.candidate.id },
        { linkId: candidate, participantId: other.candidate.id }, // asked twice
      ]),
    ).toEqual([true, false, true, false, false, true]);
    expect(studio.invites.links.holdAll([])).toEqual([]);
  });

  it('of several people connected, only the one whose link was withdrawn is cut off', async () => {
    const other = bookShortDay(studio, 90);
    const people = [other.candidate, other.actor1, other.actor2, other.lead];
    const sockets = await Promise.all(
      people.map(async (p) => {
        const socket = connect(studio, p.id, await signIn(studio, p));
        await connected(socket);
        return socket;
      }),
    );
    const cut = new Promise<void>((resolve) => sockets[1]!.once('disconnect', () => resolve()));
    const revokedAt = Date.now();
    expect(studio.invites.revoke(other.actor1)).toBe(1);
    await cut;
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    // A whole round later (2 s), everyone else is still connected.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(sockets.map((s) => s.connected)).toEqual([true, false, true, true]);
    for (const s of sockets) s.close();
  });

  it('/api/me names the participant for a current link', async () => {
    const cookie = await signIn(studio, day.observer);
    const res = await fetch(`${studio.baseUrl}/api/me?participantId=${day.observer.id}`, { headers: { cookie } });
    expect(((await res.json()) as MeResponse).participantId).toBe(day.observer.id);
  });
});
