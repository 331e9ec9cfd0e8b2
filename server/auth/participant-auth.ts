// Resolves "who is this request?" from the per-participant session cookie, the same way for
// HTTP routes and Socket.IO handshakes. The token must be valid, unexpired, for the named
// participant, and that participant must still exist in the same session.
import { parseCookie } from 'cookie';
import { sessionCookieName } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { STAFF_COOKIE, STAFF_ROLES } from '../../shared/people.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import type { TokenService } from './tokens.ts';

export type AuthFailure = 'missing' | 'expired' | 'invalid';

export type AuthResult = { ok: true; participant: Participant } | { ok: false; reason: AuthFailure };

export class ParticipantAuth {
  private readonly tokens: TokenService;
  private readonly sessions: SessionsRepo;

  private readonly staff: StaffSessions | undefined;
  private readonly people: PeopleRepo | undefined;

  /** `staff`: signed-in staff act as their own places in sessions without an invite link. */
  constructor(tokens: TokenService, sessions: SessionsRepo, staff?: StaffSessions, people?: PeopleRepo) {
    this.tokens = tokens;
    this.sessions = sessions;
    this.staff = staff;
    this.people = people;
  }

  /** Whether the participant is a person with a staff account: they sign in as themselves,
   *  and no invite link may sign anyone in as them (no acting as another person). */
  signsInAsStaff(participant: Participant): boolean {
    const person = participant.personId ? this.people?.get(participant.personId) : undefined;
    return Boolean(person && person.email && !person.removedAt && person.roles.some((r) => STAFF_ROLES.has(r)));
  }

  async fromCookieHeader(cookieHeader: string | undefined, participantId: string): Promise<AuthResult> {
    const cookies = cookieHeader ? parseCookie(cookieHeader) : {};
    const token = cookies[sessionCookieName(participantId)];
    if (token) return this.fromToken('session', token, participantId);
    return this.fromStaffSession(cookies[STAFF_COOKIE], participantId);
  }

  /** Whether a session belongs to the same organisation as the participant's own session:
   *  nothing of one organisation is reachable from another. */
  sameOrganisation(viewer: Participant, sessionId: string): boolean {
    if (sessionId === viewer.sessionId) return true;
    const theirs = this.sessions.organisationOf(sessionId);
    return theirs !== undefined && theirs === this.sessions.organisationOf(viewer.sessionId);
  }

  /** The organisation the participant acts in (that of their session). */
  organisationOf(viewer: Participant): string | undefined {
    return this.sessions.organisationOf(viewer.sessionId);
  }

  /** A signed-in person acting as a participant that is theirs, and only theirs. */
  private fromStaffSession(secret: string | undefined, participantId: string): AuthResult {
    if (!this.staff || !secret) return { ok: false, reason: 'missing' };
    const staff = this.staff.verify(secret);
    if (!staff.ok) return { ok: false, reason: staff.reason };
    const participant = this.sessions.getParticipant(participantId);
    if (!participant || participant.personId !== staff.person.id) return { ok: false, reason: 'invalid' };
    return { ok: true, participant };
  }

  async fromToken(kind: 'invite' | 'session', token: string, participantId?: string): Promise<AuthResult> {
    const verified = await this.tokens.verify(kind, token);
    if (!verified.ok) return { ok: false, reason: verified.reason };
    const { claims } = verified;
    if (participantId !== undefined && claims.participantId !== participantId) return { ok: false, reason: 'invalid' };
    const participant = this.sessions.getParticipant(claims.participantId);
    if (!participant || participant.sessionId !== claims.sessionId || participant.role !== claims.role) {
      return { ok: false, reason: 'invalid' };
    }
    return { ok: true, participant };
  }
}

export function describeAuthFailure(reason: AuthFailure): string {
  switch (reason) {
    case 'missing':
      return 'You are not signed in to this session. Open your personal invite link again.';
    case 'expired':
      return 'Your sign-in has expired. Open your personal invite link again, or ask the coordinator for a new one.';
    case 'invalid':
      return 'This sign-in is not valid. Open your personal invite link again.';
  }
}
