// Invite links and session cookies: forged, tampered and expired tokens are refused on
// HTTP and on Socket.IO; a valid one signs in exactly one participant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { sessionCookieName, type MeResponse } from '../../shared/api.ts';
import { byRole, connect, connected, createSession, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';
import type { Participant } from '../../shared/domain.ts';

let studio: TestStudio;
let candidate: Participant;
let actor: Participant;

beforeAll(async () => {
  studio = await startTestStudio();
  const { participants } = createSession(studio);
  candidate = byRole(participants, 'candidate');
  actor = byRole(participants, 'actor');
});

afterAll(async () => {
  await studio.close();
});

/** A token with the right shape signed with a key the server does not know. */
async function forged(participant: Participant, typ: 'invite' | 'session'): Promise<string> {
  return new SignJWT({ sid: participant.sessionId, role: participant.role, typ })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(participant.id)
    .setIssuer('simstudio')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('an attacker secret of at least thirty-two characters'));
}

/** Changes the role claim of a genuine token without re-signing it. */
function tampered(token: string, role: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  claims.role = role;
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

async function expired(participant: Participant, kind: 'invite' | 'session'): Promise<string> {
  return studio.tokens.sign(kind, { participantId: participant.id, sessionId: participant.sessionId, role: participant.role }, -60);
}

async function socketRefusal(participantId: string, cookie: string): Promise<unknown> {
  const socket = connect(studio, participantId, cookie);
  try {
    await connected(socket);
    return 'connected';
  } catch (error) {
    return (error as { data?: unknown }).data;
  } finally {
    socket.disconnect();
  }
}

describe('invite links', () => {
  it('a genuine link sets an HttpOnly SameSite cookie and lands on the room', async () => {
    const link = await studio.invites.link(studio.baseUrl, candidate);
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/room/${candidate.id}`);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toContain(`${sessionCookieName(candidate.id)}=`);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);

    const cookie = await signIn(studio, candidate);
    const me = (await (await fetch(`${studio.baseUrl}/api/me?participantId=${candidate.id}`, { headers: { cookie } })).json()) as MeResponse;
    expect(me).toMatchObject({ participantId: candidate.id, role: 'candidate', sessionId: candidate.sessionId });
    expect(studio.audit.list(candidate.sessionId).some((e) => e.action === 'invite.opened' && e.actorParticipantId === candidate.id)).toBe(true);
  });

  it.each([
    ['forged', async () => forged(candidate, 'invite')],
    ['tampered', async () => tampered(await studio.invites.link('', candidate).then((l) => l.replace('/join/', '')), 'coordinator')],
    ['expired', async () => expired(candidate, 'invite')],
    ['a session token used as an invite', async () => studio.tokens.sign('session', { participantId: candidate.id, sessionId: candidate.sessionId, role: 'candidate' }, 3600)],
    ['garbage', async () => 'not.a.token'],
  ])('a %s invite token is refused with a clear page and no cookie', async (_name, make) => {
    const res = await fetch(`${studio.baseUrl}/join/${await make()}`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toMatch(/invite link (is not valid|has expired)/);
  });
});

describe('session cookies', () => {
  const badCookies: Array<[string, () => Promise<string>]> = [
    ['forged', async () => `${sessionCookieName(candidate.id)}=${await forged(candidate, 'session')}`],
    [
      'tampered',
      async () => {
        const genuine = (await signIn(studio, candidate)).split('=')[1]!;
        return `${sessionCookieName(candidate.id)}=${tampered(genuine, 'leadObserver')}`;
      },
    ],
    ['expired', async () => `${sessionCookieName(candidate.id)}=${await expired(candidate, 'session')}`],
    ['an invite token', async () => `${sessionCookieName(candidate.id)}=${(await studio.invites.link('', candidate)).replace('/join/', '')}`],
    [
      "another participant's",
      async () => {
        const actorCookie = await signIn(studio, actor);
        return `${sessionCookieName(candidate.id)}=${actorCookie.split('=')[1]}`;
      },
    ],
    ['missing', async () => ''],
  ];

  it.each(badCookies)('a %s session cookie is refused on HTTP', async (_name, make) => {
    const res = await fetch(`${studio.baseUrl}/api/me?participantId=${candidate.id}`, { headers: { cookie: await make() } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it.each(badCookies)('a %s session cookie is refused on Socket.IO', async (_name, make) => {
    expect(await socketRefusal(candidate.id, await make())).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('a genuine cookie connects, and the refusals were logged', async () => {
    expect(await socketRefusal(candidate.id, await signIn(studio, candidate))).toBe('connected');
    expect(studio.logLines.filter((l) => l.msg === 'socket refused').length).toBeGreaterThanOrEqual(badCookies.length);
  });
});
