// HTTP routes of the privacy and recording notices. Each acts as the signed-in participant:
//   GET  /api/privacy/notices                        my organisation's notices and my answer
//   POST /api/privacy/answer                         { privacyVersion, recordingVersion, decision }
//   GET  /api/privacy/organisation                    coordinators: the notices as written
//   PUT  /api/privacy/organisation/:kind              coordinators: { text } → a new version
//   GET  /api/sessions/:sessionId/privacy-answers    coordinators: who accepted, declined, or not yet
import express from 'express';
import { z } from 'zod';
import { NoticeAnswerSchema, NoticeKindSchema, NoticeSaveSchema, NOTICE_TEXT_MAX } from '../../shared/privacy.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import { participantRoute } from '../http/participant-route.ts';
import type { Logger } from '../log.ts';
import type { PrivacyNotices } from './privacy-notices.ts';

export interface PrivacyRouteDeps {
  auth: ParticipantAuth;
  notices: PrivacyNotices;
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

  return router;
}
