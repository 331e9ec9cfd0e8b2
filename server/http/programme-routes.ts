// HTTP routes of running a programme (issue 15), for coordinators: the sessions calendar, a
// session's page, and changing a booking. Every body is checked against shared/programme.ts;
// a session of another organisation is answered 404 by participantRoute.
import express from 'express';
import { z } from 'zod';
import {
  AdjustmentsChangeSchema,
  CalendarQuerySchema,
  CancelSchema,
  NoShowSchema,
  RebookSchema,
  RescheduleSchema,
  SwapSchema,
} from '../../shared/programme.ts';
import type { InviteRow } from '../../shared/api.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { Invites } from '../invites.ts';
import type { Logger } from '../log.ts';
import type { ProgrammeService } from '../programme/programme-service.ts';
import { participantRoute } from './participant-route.ts';

export interface ProgrammeRouteDeps {
  auth: ParticipantAuth;
  programme: ProgrammeService;
  invites: Invites;
  baseUrl: () => string;
  log: Logger;
}

const LINK_HOLDERS = new Set(['candidate', 'actor']);
const SessionParams = z.object({ sessionId: z.uuid() });

export function programmeRoutes(deps: ProgrammeRouteDeps): express.Router {
  const router = express.Router();
  router.use('/studio', express.json({ limit: '64kb' }));
  const as = participantRoute(deps);
  const coordinator = ['coordinator'] as const;
  const organisationOf = (viewer: Parameters<ParticipantAuth['organisationOf']>[0]): string => {
    const organisationId = deps.auth.organisationOf(viewer);
    if (!organisationId) throw new ProtocolFailure('NOT_FOUND', 'no organisation');
    return organisationId;
  };
  const sessionId = (params: unknown): string => {
    const parsed = SessionParams.safeParse(params);
    if (!parsed.success) throw new ProtocolFailure('NOT_FOUND', 'no such booked session');
    return parsed.data.sessionId;
  };

  router.get(
    '/studio/calendar',
    as((req, res, viewer) => {
      const { participantId: _ignored, ...rest } = req.query as Record<string, unknown>;
      const query = CalendarQuerySchema.parse(rest);
      res.json(deps.programme.calendar(organisationOf(viewer), query));
    }, coordinator),
  );

  router.get(
    '/studio/sessions/:sessionId',
    as((req, res) => void res.json(deps.programme.page(sessionId(req.params))), coordinator),
  );

  router.post(
    '/studio/sessions/:sessionId/reschedule',
    as((req, res, viewer) => {
      deps.programme.reschedule(sessionId(req.params), RescheduleSchema.parse(req.body), viewer);
      res.json(deps.programme.page(sessionId(req.params)));
    }, coordinator),
  );

  router.post(
    '/studio/sessions/:sessionId/cancel',
    as((req, res, viewer) => {
      deps.programme.cancel(sessionId(req.params), CancelSchema.parse(req.body).reason, viewer);
      res.json(deps.programme.page(sessionId(req.params)));
    }, coordinator),
  );

  // The incoming person's invite link comes back with the answer (candidates and actors).
  router.post(
    '/studio/sessions/:sessionId/swap',
    as(async (req, res, viewer) => {
      const incoming = deps.programme.swap(sessionId(req.params), SwapSchema.parse(req.body), viewer);
      const link = LINK_HOLDERS.has(incoming.role) && !deps.auth.signsInAsStaff(incoming) ? await deps.invites.link(deps.baseUrl(), incoming) : null;
      const invite: InviteRow = { participantId: incoming.id, role: incoming.role, displayName: incoming.displayName, link };
      res.json({ invite, page: deps.programme.page(sessionId(req.params)) });
    }, coordinator),
  );

  router.put(
    '/studio/sessions/:sessionId/adjustments',
    as((req, res, viewer) => {
      const body = AdjustmentsChangeSchema.parse(req.body);
      deps.programme.changeAdjustments(sessionId(req.params), body.adjustments, body.reason, viewer);
      res.json(deps.programme.page(sessionId(req.params)));
    }, coordinator),
  );

  router.post(
    '/studio/sessions/:sessionId/no-show',
    as((req, res, viewer) => {
      deps.programme.markNoShow(sessionId(req.params), NoShowSchema.parse(req.body).reason, viewer);
      res.json(deps.programme.page(sessionId(req.params)));
    }, coordinator),
  );

  router.post(
    '/studio/sessions/:sessionId/rebook',
    as((req, res, viewer) => {
      const booked = deps.programme.rebook(sessionId(req.params), RebookSchema.parse(req.body).scheduledStart, viewer);
      res.status(201).json(deps.programme.page(booked.sessionId));
    }, coordinator),
  );

  return router;
}
