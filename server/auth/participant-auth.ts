// Resolves "who is this request?" from the per-participant session cookie, the same way for
// HTTP routes and Socket.IO handshakes. The token must be valid, unexpired, for the named
// participant, and that participant must still exist in the same session.
import { parseCookie } from 'cookie';
import { sessionCookieName } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { TokenService } from './tokens.ts';

export type AuthFailure = 'missing' | 'expired' | 'invalid';

export type AuthResult = { ok: true; participant: Participant } | { ok: false; reason: AuthFailure };

export class ParticipantAuth {
  private readonly tokens: TokenService;
  private readonly sessions: SessionsRepo;

  constructor(tokens: TokenService, sessions: SessionsRepo) {
    this.tokens = tokens;
    this.sessions = sessions;
  }

  async fromCookieHeader(cookieHeader: string | undefined, participantId: string): Promise<AuthResult> {
    const token = cookieHeader ? parseCookie(cookieHeader)[sessionCookieName(participantId)] : undefined;
    if (!token) return { ok: false, reason: 'missing' };
    return this.fromToken('session', token, participantId);
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
