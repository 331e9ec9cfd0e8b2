// Passkey routes (issue 13). Signed-in staff register, list and remove their own passkeys
// (/api/staff/passkeys…); anyone may sign in with one (/api/auth/passkey/…), which starts a
// staff session like every other way of signing in. Sign-ins and refusals are audited with
// the person when the passkey names one.
import express, { type Request, type Response } from 'express';
import { parseCookie } from 'cookie';
import { z } from 'zod';
import { AuthenticationResponseSchema, RegistrationResponseSchema } from '../../shared/passkeys.ts';
import { STAFF_COOKIE, STAFF_HOME_PATH, STAFF_ROLES, type Person } from '../../shared/people.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SignInFailures } from '../auth/sign-in-failures.ts';
import { isPasskeyFailure, type PasskeyFailure, type Passkeys } from '../identity/passkeys.ts';
import { auditPerson, signIn } from '../identity/sign-in-cookie.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import type { Logger } from '../log.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import { sendApiError } from './app.ts';

export interface PasskeyRouteDeps {
  passkeys: Passkeys;
  people: PeopleRepo;
  staffSessions: StaffSessions;
  audit: AuditRepo;
  signInFailures: SignInFailures;
  cookieSecure: 'auto' | boolean;
  log: Logger;
}

const PasskeyParam = z.object({ id: z.string().min(1).max(1364).regex(/^[A-Za-z0-9_-]+$/) });

const CODES = { 400: 'INVALID_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 409: 'CONFLICT', 429: 'RATE_LIMITED' } as const;

export function passkeyRoutes(deps: PasskeyRouteDeps): express.Router {
  const api = express.Router();
  api.use(['/auth/passkey', '/staff/passkeys'], express.json({ limit: '32kb' }));

  /** The signed-in person and their sign-in, or a 401 already sent. */
  const signedIn = (req: Request, res: Response): { person: Person; staffSessionId: string } | undefined => {
    const secret = req.headers.cookie ? parseCookie(req.headers.cookie)[STAFF_COOKIE] : undefined;
    const auth = deps.staffSessions.verify(secret);
    if (!auth.ok) {
      sendApiError(res, 401, 'UNAUTHENTICATED', auth.reason === 'expired' ? 'Your sign-in has expired: sign in again.' : 'You are not signed in.');
      return undefined;
    }
    return { person: auth.person, staffSessionId: auth.sessionId };
  };

  const refuse = (res: Response, failure: PasskeyFailure): void => sendApiError(res, failure.status, CODES[failure.status], failure.reason);

  // ---- the signed-in person's passkeys ----

  api.get('/staff/passkeys', (req, res) => {
    const viewer = signedIn(req, res);
    if (viewer) res.json(deps.passkeys.list(viewer.person.id));
  });

  api.get('/staff/passkeys/options', async (req, res, next) => {
    try {
      const viewer = signedIn(req, res);
      if (!viewer) return;
      const options = await deps.passkeys.registrationOptions(viewer.person, { personId: viewer.person.id, staffSessionId: viewer.staffSessionId });
      if (isPasskeyFailure(options)) return refuse(res, options);
      res.set('cache-control', 'no-store').json(options);
    } catch (error) {
      next(error);
    }
  });

  api.post('/staff/passkeys/verify', async (req, res, next) => {
    try {
      const viewer = signedIn(req, res);
      if (!viewer) return;
      const body = RegistrationResponseSchema.safeParse(req.body);
      if (!body.success) return sendApiError(res, 400, 'INVALID_REQUEST', 'not a passkey registration');
      const result = await deps.passkeys.register(viewer.person, { personId: viewer.person.id, staffSessionId: viewer.staffSessionId }, body.data);
      if (!result.ok) {
        deps.audit.append({ person: auditPerson(viewer.person), action: 'passkey.refused', detail: { reason: result.reason } });
        return refuse(res, result);
      }
      deps.audit.append({ person: auditPerson(viewer.person), action: 'passkey.added', detail: { passkeyId: result.passkey.id } });
      res.status(201).json(result.passkey);
    } catch (error) {
      next(error);
    }
  });

  api.delete('/staff/passkeys/:id', (req, res) => {
    const viewer = signedIn(req, res);
    if (!viewer) return;
    const param = PasskeyParam.safeParse(req.params);
    if (!param.success || !deps.passkeys.remove(viewer.person.id, param.data.id)) return sendApiError(res, 404, 'NOT_FOUND', 'no such passkey of yours');
    deps.audit.append({ person: auditPerson(viewer.person), action: 'passkey.removed', detail: { passkeyId: param.data.id } });
    res.status(204).end();
  });

  // ---- signing in with a passkey ----

  const refuseSignIn = (res: Response, failure: PasskeyFailure): void => {
    deps.signInFailures.record(
      {
        person: failure.person ? auditPerson(failure.person) : { personId: null, name: 'unknown', role: 'unknown', organisationId: null },
        action: 'signin.failed',
        detail: { method: 'passkey', reason: failure.reason },
      },
      { fields: { reason: failure.reason }, message: 'passkey sign-in refused' },
    );
    refuse(res, failure.reason === 'removed' ? { ...failure, reason: 'your access to SimStudio has ended' } : failure);
  };

  api.post('/auth/passkey/options', async (_req, res, next) => {
    try {
      const options = await deps.passkeys.authenticationOptions();
      if (isPasskeyFailure(options)) return refuse(res, options);
      res.set('cache-control', 'no-store').json(options);
    } catch (error) {
      next(error);
    }
  });

  api.post('/auth/passkey/verify', async (req, res, next) => {
    try {
      const body = AuthenticationResponseSchema.safeParse(req.body);
      if (!body.success) return sendApiError(res, 400, 'INVALID_REQUEST', 'not a passkey sign-in');
      const result = await deps.passkeys.authenticate(body.data, (id) => deps.people.get(id));
      if (!result.ok) return refuseSignIn(res, result);
      // A person who no longer holds a staff role signs in no more, whatever they registered.
      if (!result.person.roles.some((r) => STAFF_ROLES.has(r))) return refuseSignIn(res, { ok: false, status: 403, reason: 'no staff role', person: result.person });
      signIn(deps, req, res, result.person, 'passkey');
      res.json({ redirect: STAFF_HOME_PATH });
    } catch (error) {
      next(error);
    }
  });

  return api;
}
