// Resolves "who is this request?" from the per-participant session cookie, the same way for
// HTTP routes and Socket.IO handshakes. The token must be valid, unexpired, for the named
// participant, and that participant must still exist in the same session.
import { parseCookie } from 'cookie';
import { sessionCookieName } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { DESK_SESSION_PREFIX, deskRoleOf, STAFF_COOKIE, STAFF_ROLES } from '../../shared/people.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import type { InviteLinksRepo } from './invite-links.ts';
import type { TokenService } from './tokens.ts';

export type AuthFailure = 'missing' | 'expired' | 'invalid' | 'revoked';

/** What a sign-in rests on, to check again later: the invite link it came from, or the staff
 *  sign-in session (by its cookie secret). Revoking either ends the sign-in. */
export type AuthProof = { kind: 'link'; linkId: string } | { kind: 'staff'; secret: string };

/** One sign-in (a participant by one proof): what the same checks give the same answer for. */
export function signInKey(participant: Participant, proof: AuthProof): string {
  return `${participant.id} ${proof.kind === 'link' ? `link ${proof.linkId}` : `staff ${proof.secret}`}`;
}

/** A refusal names the participant when the token was ours but its link no longer is. */
export type AuthResult = { ok: true; participant: Participant; proof: AuthProof } | { ok: false; reason: AuthFailure; participantId?: string };

export class ParticipantAuth {
  private readonly tokens: TokenService;
  private readonly sessions: SessionsRepo;

  private readonly links: InviteLinksRepo;
  private readonly staff: StaffSessions | undefined;
  private readonly people: PeopleRepo | undefined;

  /** `staff`: signed-in staff act as their own places in sessions without an invite link. */
  constructor(deps: { tokens: TokenService; sessions: SessionsRepo; links: InviteLinksRepo; staff?: StaffSessions; people?: PeopleRepo }) {
    this.tokens = deps.tokens;
    this.sessions = deps.sessions;
    this.links = deps.links;
    this.staff = deps.staff;
    this.people = deps.people;
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

  /** Whether each sign-in still holds (live sockets ask every few seconds): its link not revoked
   *  or expired, its staff session open and its person not removed. Their links are read at once. */
  stillValidAll(signIns: ReadonlyArray<{ participant: Participant; proof: AuthProof }>): boolean[] {
    const links = signIns.flatMap(({ participant, proof }) => (proof.kind === 'link' ? [{ linkId: proof.linkId, participantId: participant.id }] : []));
    const held = this.links.holdAll(links);
    let next = 0;
    return signIns.map(({ participant, proof }) => (proof.kind === 'link' ? held[next++]! : this.staffSignInHolds(participant, proof)));
  }

  private staffSignInHolds(participant: Participant, proof: Extract<AuthProof, { kind: 'staff' }>): boolean {
    // A place swapped out, or a session cancelled, admits nobody any more (issue 15).
    if (this.sessions.placeEnded(participant.id)) return false;
    const staff = this.staff?.verify(proof.secret);
    return Boolean(staff?.ok && staff.person.id === participant.personId);
  }

  /** A removed person's links sign nobody in (their access ends with their removal). */
  private personRemoved(participant: Participant): boolean {
    const person = participant.personId ? this.people?.get(participant.personId) : undefined;
    return Boolean(person?.removedAt);
  }

  /** Whether the participant is a desk (no session): it never joins a room or a document. */
  static isDesk(participant: Participant): boolean {
    return participant.sessionId.startsWith(DESK_SESSION_PREFIX);
  }

  /** Whether a session belongs to the same organisation as the participant's own session:
   *  nothing of one organisation is reachable from another. */
  sameOrganisation(viewer: Participant, sessionId: string): boolean {
    if (sessionId === viewer.sessionId) return true;
    const theirs = this.sessions.organisationOf(sessionId);
    return theirs !== undefined && theirs === this.organisationOf(viewer);
  }

  /** The organisation the participant acts in (that of their session). */
  organisationOf(viewer: Participant): string | undefined {
    if (viewer.sessionId.startsWith(DESK_SESSION_PREFIX)) return viewer.sessionId.slice(DESK_SESSION_PREFIX.length);
    return this.sessions.organisationOf(viewer.sessionId);
  }

  /** A signed-in person acting as a participant that is theirs, and only theirs. */
  private fromStaffSession(secret: string | undefined, participantId: string): AuthResult {
    if (!this.staff || !secret) return { ok: false, reason: 'missing' };
    const staff = this.staff.verify(secret);
    if (!staff.ok) return { ok: false, reason: staff.reason };
    const desk = deskRoleOf(participantId);
    if (desk) {
      // Their organisation-wide place: a participant of no session, in their organisation.
      if (!staff.person.roles.includes(desk)) return { ok: false, reason: 'invalid' };
      const participant: Participant = {
        id: staff.person.id,
        sessionId: `${DESK_SESSION_PREFIX}${staff.person.organisationId}`,
        role: desk,
        displayName: staff.person.displayName,
        createdAt: staff.person.createdAt,
        personId: staff.person.id,
      };
      return { ok: true, participant, proof: { kind: 'staff', secret } };
    }
    const participant = this.sessions.getParticipant(participantId);
    if (!participant || participant.personId !== staff.person.id) return { ok: false, reason: 'invalid' };
    if (this.sessions.placeEnded(participant.id)) return { ok: false, reason: 'revoked', participantId: participant.id };
    return { ok: true, participant, proof: { kind: 'staff', secret } };
  }

  async fromToken(kind: 'invite' | 'session', token: string, participantId?: string): Promise<AuthResult> {
    const verified = await this.tokens.verify(kind, token);
    if (!verified.ok) return { ok: false, reason: verified.reason };
    const { claims } = verified;
    if (participantId !== undefined && claims.participantId !== participantId) return { ok: false, reason: 'invalid' };
    // Every link is a row that can be revoked; a token naming none is not one we issued now.
    if (!claims.linkId) return { ok: false, reason: 'invalid' };
    const link = this.links.check(claims.linkId, claims.participantId);
    if (link !== 'ok') return link === 'unknown' ? { ok: false, reason: 'invalid' } : { ok: false, reason: link, participantId: claims.participantId };
    const participant = this.sessions.getParticipant(claims.participantId);
    if (!participant || participant.sessionId !== claims.sessionId || participant.role !== claims.role || this.personRemoved(participant)) {
      return { ok: false, reason: 'invalid' };
    }
    if (this.sessions.placeEnded(participant.id)) return { ok: false, reason: 'revoked', participantId: participant.id };
    return { ok: true, participant, proof: { kind: 'link', linkId: claims.linkId } };
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
    case 'revoked':
      return 'This link has been withdrawn or replaced by a new one. Use the newest link your coordinator sent you, or ask them for one.';
  }
}
