// /api/org/data-protection/…: an organisation's retention periods, legal holds, its retention
// run, the audit chain's check, and erasure of one of its people. Staff routes: the signed-in
// person acts inside their own organisation only; another organisation's ids answer 404.
// Administrators and coordinators read and set periods and read holds; only administrators
// set or release holds, run retention, check the chain and erase.
import express, { type NextFunction, type Request, type Response } from 'express';
import { parseCookie } from 'cookie';
import { z } from 'zod';
import {
  ErasureRequestSchema,
  HoldParamSchema,
  HoldReleaseSchema,
  HoldRequestSchema,
  RetentionChangeSchema,
  RetentionRunRequestSchema,
} from '../../shared/data-protection.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import { STAFF_COOKIE, type OrgRole, type Person } from '../../shared/people.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { sendApiError } from '../http/app.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import { auditPerson } from '../identity/sign-in-cookie.ts';
import { verifyAuditChain } from './audit-chain.ts';
import type { DataProtection } from './data-protection.ts';
import type { Database } from '../db/database.ts';

export interface DataProtectionRouteDeps {
  dataProtection: DataProtection;
  staffSessions: StaffSessions;
  audit: AuditRepo;
  db: Database;
}

const ADMIN: readonly OrgRole[] = ['administrator'];
const ADMIN_OR_COORDINATOR: readonly OrgRole[] = ['administrator', 'coordinator'];
const PersonParam = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,80}$/) });

type Handler = (req: Request, res: Response, person: Person) => void;

export function dataProtectionRoutes(deps: DataProtectionRouteDeps): express.Router {
  const api = express.Router();
  api.use(['/org/data-protection', '/org/people'], express.json({ limit: '16kb' }));

  const staff =
    (roles: readonly OrgRole[], handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      const secret = req.headers.cookie ? parseCookie(req.headers.cookie)[STAFF_COOKIE] : undefined;
      const auth = deps.staffSessions.verify(secret);
      if (!auth.ok) return sendApiError(res, 401, 'UNAUTHENTICATED', auth.reason === 'expired' ? 'Your sign-in has expired: sign in again.' : 'You are not signed in.');
      if (!roles.some((r) => auth.person.roles.includes(r))) {
        deps.audit.append({ person: auditPerson(auth.person), action: 'access.refused', detail: { path: req.path } });
        return sendApiError(res, 403, 'FORBIDDEN', `this needs the ${roles.join(' or ')} role`);
      }
      try {
        handler(req, res, auth.person);
      } catch (error) {
        if (error instanceof ProtocolFailure) {
          const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'FORBIDDEN' ? 403 : error.code === 'CONFLICT' ? 409 : 400;
          return sendApiError(res, status, status === 404 ? 'NOT_FOUND' : status === 403 ? 'FORBIDDEN' : status === 409 ? 'CONFLICT' : 'INVALID_REQUEST', error.message);
        }
        if (error instanceof z.ZodError) {
          return sendApiError(res, 400, 'INVALID_REQUEST', error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ').slice(0, 1000));
        }
        next(error);
      }
    };

  api.get(
    '/org/data-protection/retention',
    staff(ADMIN_OR_COORDINATOR, (_req, res, person) => {
      res.json({ periods: deps.dataProtection.periods.periods(person.organisationId), defaults: deps.dataProtection.periods.defaults });
    }),
  );

  api.put(
    '/org/data-protection/retention',
    staff(ADMIN_OR_COORDINATOR, (req, res, person) => {
      const change = RetentionChangeSchema.parse(req.body);
      const before = deps.dataProtection.periods.periods(person.organisationId);
      const periods = deps.dataProtection.periods.change(person.organisationId, change);
      deps.audit.append({ person: auditPerson(person), action: 'retention.periods_changed', detail: { before, after: periods } });
      res.json({ periods, defaults: deps.dataProtection.periods.defaults });
    }),
  );

  api.post(
    '/org/data-protection/retention/run',
    staff(ADMIN, (req, res, person) => {
      const { dryRun } = RetentionRunRequestSchema.parse(req.body ?? {});
      res.json(deps.dataProtection.runRetention({ organisationId: person.organisationId, dryRun, trigger: `person:${person.id}` }));
    }),
  );

  api.get(
    '/org/data-protection/holds',
    staff(ADMIN_OR_COORDINATOR, (_req, res, person) => void res.json(deps.dataProtection.holds.list(person.organisationId))),
  );

  api.post(
    '/org/data-protection/holds',
    staff(ADMIN, (req, res, person) => {
      const { sessionId, reason } = HoldRequestSchema.parse(req.body);
      const hold = deps.dataProtection.holds.set(person.organisationId, sessionId, reason, person.id);
      deps.audit.append({ sessionId, person: auditPerson(person), action: 'legal_hold.set', detail: { holdId: hold.id, reason } });
      res.status(201).json(hold);
    }),
  );

  api.post(
    '/org/data-protection/holds/:id/release',
    staff(ADMIN, (req, res, person) => {
      const { id } = HoldParamSchema.parse(req.params);
      const { reason } = HoldReleaseSchema.parse(req.body);
      const { sessionId } = deps.dataProtection.holds.release(person.organisationId, id, reason, person.id);
      deps.audit.append({ sessionId, person: auditPerson(person), action: 'legal_hold.released', detail: { holdId: id, reason } });
      res.json({ released: id });
    }),
  );

  // The chain spans every organisation: the answer says only whether it holds.
  api.get(
    '/org/data-protection/audit-chain',
    staff(ADMIN, (_req, res) => {
      const verdict = verifyAuditChain(deps.db);
      res.json({ ok: verdict.ok, reason: verdict.firstBad?.reason ?? null });
    }),
  );

  api.post(
    '/org/people/:id/erase',
    staff(ADMIN, (req, res, person) => {
      const { id } = PersonParam.parse(req.params);
      const request = ErasureRequestSchema.parse(req.body);
      res.json(deps.dataProtection.erase(person.organisationId, id, request, auditPerson(person)));
    }),
  );

  return api;
}
