// Signed, expiring tokens (JWT, HS256 via jose) for invite links and session cookies.
// An invite link carries an invite token; opening it exchanges it for a session token in
// an HttpOnly cookie. Both name exactly one participant of one session.
import { SignJWT, jwtVerify, errors, type JWTPayload } from 'jose';
import { RoleSchema } from '../../shared/domain.ts';
import type { Role } from '../../shared/roles.ts';

const ISSUER = 'simstudio';
const ALG = 'HS256';

export type TokenKind = 'invite' | 'session';

export interface TokenClaims {
  participantId: string;
  sessionId: string;
  role: Role;
  /** The invite link (invite_links row) the token comes from: revoking it ends the token. */
  linkId?: string;
}

export type VerifyFailure = 'expired' | 'invalid';

export class TokenService {
  private readonly secret: Uint8Array;

  constructor(secret: Uint8Array) {
    this.secret = secret;
  }

  async sign(kind: TokenKind, claims: TokenClaims, ttlSeconds: number): Promise<string> {
    const jwt = new SignJWT({ sid: claims.sessionId, role: claims.role, typ: kind })
      .setProtectedHeader({ alg: ALG })
      .setSubject(claims.participantId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
    if (claims.linkId) jwt.setJti(claims.linkId);
    return jwt.sign(this.secret);
  }

  async verify(kind: TokenKind, token: string): Promise<{ ok: true; claims: TokenClaims } | { ok: false; reason: VerifyFailure }> {
    if (token.length > 4096) return { ok: false, reason: 'invalid' };
    try {
      return this.claimsOf(kind, (await jwtVerify(token, this.secret, { issuer: ISSUER, algorithms: [ALG] })).payload);
    } catch (error) {
      // An invite naming its link row is governed by the row: its validity moves with the day
      // (a rescheduled session, issue 15), while the expiry signed into the token stays where
      // it was. The signature is checked all the same; the caller checks the row.
      if (error instanceof errors.JWTExpired && kind === 'invite' && typeof error.payload.jti === 'string' && typeof error.payload.iat === 'number') {
        try {
          const signed = await jwtVerify(token, this.secret, { issuer: ISSUER, algorithms: [ALG], currentDate: new Date(error.payload.iat * 1000) });
          return this.claimsOf(kind, signed.payload);
        } catch {
          return { ok: false, reason: 'invalid' };
        }
      }
      return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }

  private claimsOf(kind: TokenKind, payload: JWTPayload): { ok: true; claims: TokenClaims } | { ok: false; reason: VerifyFailure } {
    const role = RoleSchema.safeParse(payload.role);
    if (payload.typ !== kind || !payload.sub || typeof payload.sid !== 'string' || !role.success) {
      return { ok: false, reason: 'invalid' };
    }
    return {
      ok: true,
      claims: { participantId: payload.sub, sessionId: payload.sid, role: role.data, ...(typeof payload.jti === 'string' ? { linkId: payload.jti } : {}) },
    };
  }
}
