// HTTP routes of the privacy and recording notices. Each acts as the signed-in participant:
//   GET  /api/privacy/notices                        my organisation's notices and my answer
//   POST /api/privacy/answer                         { privacyVersion, recordingVersion, decision }
//   GET  /api/privacy/organisation                    coordinators: the notices as written
//   PUT  /api/privacy/organisation/:kind              coordinators: { text } → a new version
//   GET  /api/sessions/:sessionId/privacy-answers    coordinators: who accepted, declined, or not yet
//   GET  /api/privacy/staff/organisation             signed-in administrators and coordinators (their
//   PUT  /api/privacy/staff/organisation/:kind       staff page): the same as the two above
import { parseCookie } from 'cookie';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { ProtocolFailure } from '../../shared/errors.ts';
import { STAFF_COOKIE, type Person } from '../../shared/people.ts';
import { sendApiError } from '../http/app.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import { NoticeAnswerSchema, NoticeKindSchema, NoticeSaveSchema, NOTICE_TEXT_MAX } from '../../shared/privacy.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import { participantRoute } from '../http/participant-route.ts';
import type { Logger } from '../log.ts';
import type { PrivacyNotices } from './privacy-notices.ts';

export interface PrivacyRouteDeps {
  auth: ParticipantAuth;
  notices: PrivacyNotices;
  staffSessions: StaffSessions;
  log: Logger;
}

const KindParam = z.object({ kind: NoticeKindSchema });
const IN_ROOM = [...ROOM_ROLES];

export function privacyRoutes(deps: PrivacyRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  router.use('/privacy/answer', express.json({ limit: '1kb' }));
  // A notice as JSON: its text (UTF-8, escaped) plus a little.
  router.use('/privacy/organisation', express.json({ limit: NOTICE_TEXT_MAX * 4 + 1024 }));

  router.get(
    '/privacy/notices',
    as((_req, res, me) => void res.json(deps.notices.forParticipant(me)), IN_ROOM),
  );

  router.post(
    '/privacy/answer',
    as((req, res, me) => {
      const input = NoticeAnswerSchema.parse(req.body);
      res.status(201).json(deps.notices.answer(me, input));
    }, IN_ROOM),
  );

  router.get(
    '/privacy/organisation',
    as((_req, res, me) => void res.json(deps.notices.organisationNotices(me)), ['coordinator']),
  );

  router.put(
    '/privacy/organisation/:kind',
    as((req, res, me) => {
      const { kind } = KindParam.parse(req.params);
      const { text } = NoticeSaveSchema.parse(req.body);
      res.status(201).json(deps.notices.save(me, kind, text));
    }, ['coordinator']),
  );

  router.get(
    '/sessions/:sessionId/privacy-answers',
    as((req, res) => void res.json(deps.notices.sessionAnswers(String(req.params.sessionId))), ['coordinator']),
  );

  // Administrators have no studio desk: they edit the notices on their staff page.
  const editors = ['administrator', 'coordinator'] as const;
  const asStaff =
    (handler: (req: Request, res: Response, person: Person) => void) =>
    (req: Request, res: Response, next: NextFunction): void => {
      try {
        const secret = req.headers.cookie ? parseCookie(req.headers.cookie)[STAFF_COOKIE] : undefined;
        const auth = deps.staffSessions.verify(secret);
        if (!auth.ok) return sendApiError(res, 401, 'UNAUTHENTICATED', auth.reason === 'expired' ? 'Your sign-in has expired: sign in again.' : 'You are not signed in.');
        if (!editors.some((r) => auth.person.roles.includes(r))) return sendApiError(res, 403, 'FORBIDDEN', 'this needs the administrator or coordinator role');
        handler(req, res, auth.person);
      } catch (error) {
        if (error instanceof z.ZodError) {
          return sendApiError(res, 400, 'INVALID_REQUEST', error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ').slice(0, 1000));
        }
        if (error instanceof ProtocolFailure && error.code === 'NOT_FOUND') return sendApiError(res, 404, 'NOT_FOUND', error.message);
        next(error);
      }
    };
  router.use('/privacy/staff/organisation', express.json({ limit: NOTICE_TEXT_MAX * 4 + 1024 }));
  router.get(
    '/privacy/staff/organisation',
    asStaff((_req, res, person) => void res.json(deps.notices.noticesOf(person.organisationId))),
  );
  router.put(
    '/privacy/staff/organisation/:kind',
    asStaff((req, res, person) => {
      const { kind } = KindParam.parse(req.params);
      const { text } = NoticeSaveSchema.parse(req.body);
      const role = person.roles.includes('administrator') ? 'administrator' : 'coordinator';
      res.status(201).json(deps.notices.saveAs(person.organisationId, kind, text, { personId: person.id, name: person.displayName, role, organisationId: person.organisationId }));
    }),
  );

  return router;
}
