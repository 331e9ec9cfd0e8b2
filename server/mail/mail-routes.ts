// The studio's email pages (coordinators of the organisation): its templates (saved per
// organisation, checked for bad placeholders), a preview rendered from a real session of the
// organisation or a sample, and the delivery list (queued, sent, retrying with attempts and
// last error, failed). Another organisation's session is as absent as one that does not exist.
import express from 'express';
import { z } from 'zod';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import {
  deliveryState,
  MailPreviewRequestSchema,
  MailTemplateInputSchema,
  MailTemplateKindSchema,
  type MailDeliveryRow,
  type MailPreview,
} from '../../shared/mail.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { participantRoute } from '../http/participant-route.ts';
import type { Logger } from '../log.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { Notifications } from '../programme/notifications.ts';
import { assertTemplate, type MailTemplates } from './mail-templates.ts';
import type { Mailer } from './mailer.ts';

export interface MailRouteDeps {
  auth: ParticipantAuth;
  templates: MailTemplates;
  notifications: Notifications;
  mailer: Mailer;
  sessions: SessionsRepo;
  people: PeopleRepo;
  audit: AuditRepo;
  log: Logger;
  now?: () => number;
}

const KindParam = z.object({ kind: MailTemplateKindSchema });
const OutboxQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() });

export function mailRoutes(deps: MailRouteDeps): express.Router {
  const router = express.Router();
  router.use('/studio/mail', express.json({ limit: '64kb' }));
  const as = participantRoute(deps);
  const coordinator = ['coordinator'] as const;
  const now = deps.now ?? Date.now;

  const organisationOf = (viewer: Participant): string => {
    const id = deps.auth.organisationOf(viewer);
    if (!id) throw new ProtocolFailure('NOT_FOUND', 'no organisation');
    return id;
  };

  router.get('/studio/mail/templates', as((_req, res, viewer) => void res.json(deps.templates.list(organisationOf(viewer))), coordinator));

  router.put(
    '/studio/mail/templates/:kind',
    as((req, res, viewer) => {
      const { kind } = KindParam.parse(req.params);
      const input = MailTemplateInputSchema.parse(req.body);
      const organisationId = organisationOf(viewer);
      deps.templates.save(organisationId, kind, input, new Date(now()));
      deps.audit.append({ actorParticipantId: viewer.id, action: 'mail.template_saved', detail: { kind } });
      res.json(deps.templates.list(organisationId).find((t) => t.kind === kind));
    }, coordinator),
  );

  router.delete(
    '/studio/mail/templates/:kind',
    as((req, res, viewer) => {
      const { kind } = KindParam.parse(req.params);
      const organisationId = organisationOf(viewer);
      if (deps.templates.reset(organisationId, kind)) deps.audit.append({ actorParticipantId: viewer.id, action: 'mail.template_reset', detail: { kind } });
      res.json(deps.templates.list(organisationId).find((t) => t.kind === kind));
    }, coordinator),
  );

  // Renders what is in the editor (saved or not), refusing what saving would refuse.
  router.post(
    '/studio/mail/preview',
    as(async (req, res, viewer) => {
      const input = MailPreviewRequestSchema.parse(req.body);
      const template = { subject: input.subject, body: input.body };
      assertTemplate(input.kind, template);
      const organisationId = organisationOf(viewer);
      if (!input.sessionId) {
        const sample = deps.notifications.sample(input.kind, deps.people.organisation(organisationId)?.name ?? '', template);
        const body: MailPreview = { ...sample, renderedFor: 'a sample candidate' };
        res.json(body);
        return;
      }
      if (!deps.auth.sameOrganisation(viewer, input.sessionId)) throw new ProtocolFailure('NOT_FOUND', 'no such session');
      const participants = deps.sessions.listParticipants(input.sessionId);
      const participant = input.participantId ? participants.find((p) => p.id === input.participantId) : participants.find((p) => p.role === 'candidate');
      if (!participant) throw new ProtocolFailure('NOT_FOUND', 'no such participant in this session');
      const rendered = await deps.notifications.preview(input.kind, participant, template);
      const body: MailPreview = { ...rendered, renderedFor: participant.displayName };
      res.json(body);
    }, coordinator),
  );

  router.get(
    '/studio/mail/outbox',
    as((req, res, viewer) => {
      const { limit } = OutboxQuery.parse(req.query);
      const rows: MailDeliveryRow[] = deps.mailer.list(organisationOf(viewer), { limit: limit ?? 200 }).map((m) => ({
        id: m.id,
        to: m.to,
        subject: m.subject,
        kind: m.kind,
        state: deliveryState(m.status, m.attempts),
        attempts: m.attempts,
        lastError: m.lastError,
        createdAt: m.createdAt,
        sentAt: m.sentAt,
        nextAttemptAt: m.nextAttemptAt,
        attachments: m.attachments.map((a) => a.filename),
      }));
      res.json(rows);
    }, coordinator),
  );

  return router;
}
