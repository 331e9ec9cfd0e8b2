// Setting the staff sign-in cookie, the same way for every way of signing in (email link,
// single sign-on): a new server-side session, its secret in an HttpOnly cookie, an audit row.
import type { Request, Response } from 'express';
import { STAFF_COOKIE, type Person, type SignInMethod } from '../../shared/people.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { StaffSessions } from './staff-sessions.ts';

export interface SignInDeps {
  staffSessions: StaffSessions;
  audit: AuditRepo;
  cookieSecure: 'auto' | boolean;
}

export function cookieOptions(req: Request, cookieSecure: 'auto' | boolean, maxAgeSeconds: number) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: cookieSecure === 'auto' ? req.secure : cookieSecure,
    path: '/',
    maxAge: maxAgeSeconds * 1000,
  };
}

export function auditPerson(person: Person, role?: string) {
  const primary = person.roles.includes('administrator') ? 'administrator' : (person.roles[0] ?? 'person');
  return { personId: person.id, name: person.displayName, role: role ?? primary, organisationId: person.organisationId };
}

/** Signs the person in on this browser. */
export function signIn(deps: SignInDeps, req: Request, res: Response, person: Person, method: SignInMethod): void {
  const session = deps.staffSessions.create(person.id, method, String(req.headers['user-agent'] ?? ''));
  res.cookie(STAFF_COOKIE, session.secret, cookieOptions(req, deps.cookieSecure, session.maxAgeSeconds));
  deps.audit.append({ person: auditPerson(person), action: 'signin.succeeded', detail: { method } });
}
