// HTTP routes of the assessment day: what each participant may read, and the coordinator's
// studio (scenario bank, templates, booking sessions, invite links, the live board).
import express from 'express';
import { z } from 'zod';
import type { BookSession, DayState } from '../../shared/assessment.ts';
import { BookSessionSchema, ContentKindSchema, TemplateSchema } from '../../shared/assessment-schemas.ts';
import type { BoardRow, BookablePerson, EvidenceNoteView, InviteRow, RecordingsResponse } from '../../shared/api.ts';
import type { TestCallSummary } from '../../shared/prejoin.ts';
import type { Participant } from '../../shared/domain.ts';
import type { Person } from '../../shared/people.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import { ScenarioSchema } from '../../shared/scenario.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { ScenarioBank } from '../assessment/scenario-bank.ts';
import type { TemplatesRepo } from '../assessment/templates-repo.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Invites } from '../invites.ts';
import type { WrittenExercise } from '../written/written-exercise.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import { fallbackRecordingRoute } from '../recording/fallback-route.ts';
import { sendRecording } from '../recording/media-response.ts';
import { HIDDEN_ROLES, ROOM_ROLES } from '../../shared/roles.ts';
import type { Logger } from '../log.ts';
import { participantRoute } from './participant-route.ts';

export interface AssessmentRouteDeps {
  auth: ParticipantAuth;
  assessment: AssessmentService;
  bank: ScenarioBank;
  templates: TemplatesRepo;
  sessions: SessionsRepo;
  invites: Invites;
  audit: AuditRepo;
  /** The organisation's current people (to book them by name). */
  people: (organisationId: string) => Person[];
  baseUrl: () => string;
  /** Who is connected now in each of these sessions (on any studio node). */
  connectedBySession: (sessionIds: readonly string[]) => Promise<Map<string, Set<string>>>;
  /** Each participant's newest pre-join test call, for the board (server/prejoin/). */
  testCalls: (sessionId: string) => Map<string, TestCallSummary>;
  written: WrittenExercise;
  /** A getter: the recorder starts after the routes are built. */
  recordings: () => RecordingService;
  /** The notes `viewer` may read (a scorer: their own and submitted sheets'). */
  evidenceNotes: (sessionId: string, viewer: Participant) => EvidenceNoteView[];
  /** Throws (a ProtocolFailure) to refuse a booking, e.g. an observer not yet calibrated. */
  bookingCheck?: (booking: BookSession, organisationId: string | undefined) => void;
  log: Logger;
}

/** Who may watch recordings: never the candidate or actor. */
const RECORDING_VIEWERS = ['leadObserver', 'observer', 'moderator', 'coordinator'] as const;
/** Roles that work across sessions (the studio; moderation): coordinators and moderators. */
const ORGANISATION_ROLES: ReadonlySet<Participant['role']> = new Set(['coordinator', 'moderator']);
const RECORDING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const ContentParams = z.object({
  sessionId: z.string().min(1).max(64),
  number: z.coerce.number().int().min(1).max(3),
  kind: ContentKindSchema,
});

/** Who is handed an invite link: candidates and actors (no account). Staff sign in as
 *  themselves, so no link that signs in as a member of staff is ever given to anyone. */
const LINK_HOLDERS: ReadonlySet<Participant['role']> = new Set(['candidate', 'actor']);

const InviteParams = z.object({ sessionId: z.uuid(), participantId: z.uuid() });

export function assessmentRoutes(deps: AssessmentRouteDeps): express.Router {
  const router = express.Router();
  // The lead observer's backup recording: before any body parser, since it reads its body
  // itself, and only after every check (server/recording/fallback-route.ts).
  router.post(
    '/sessions/:sessionId/fallback-recording',
    ...fallbackRecordingRoute({ auth: deps.auth, log: deps.log, dayState: (id) => deps.assessment.dayState(id), uploads: () => deps.recordings().fallback }),
  );
  // JSON bodies only for this router's own paths: a parser on every path would also run (with
  // this limit) for the moderation routes mounted after it, and theirs would never apply.
  router.use(['/sessions', '/recordings', '/studio'], express.json({ limit: '256kb' }));
  /** Every route names the participant it acts as and proves it with that participant's cookie. */
  const as = participantRoute(deps);
  const coordinator = ['coordinator'] as const;

  router.get(
    '/sessions/:sessionId/overview',
    as((req, res, viewer) => {
      if (req.params.sessionId !== viewer.sessionId) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      res.json(deps.assessment.overview(viewer));
    }),
  );

  router.get(
    '/sessions/:sessionId/scenarios/:number/:kind',
    as((req, res, viewer) => {
      const p = ContentParams.safeParse(req.params);
      if (!p.success) throw new ProtocolFailure('NOT_FOUND', 'no such content');
      res.json({ markdown: deps.assessment.content(viewer, p.data.sessionId, p.data.number, p.data.kind) });
    }),
  );

  // The written exercise's window and, once submitted, its frozen text: for the candidate
  // who wrote it and for observers, moderators and coordinators; never for actors.
  router.get(
    '/sessions/:sessionId/written',
    as((req, res, viewer) => {
      if (req.params.sessionId !== viewer.sessionId) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      if (viewer.role !== 'candidate' && !HIDDEN_ROLES.has(viewer.role)) {
        throw new ProtocolFailure('FORBIDDEN', `a ${viewer.role} may not read the written exercise`);
      }
      res.json(deps.written.status(viewer.sessionId));
    }),
  );

  router.get(
    '/sessions/:sessionId/recordings',
    as((req, res, viewer) => {
      if (req.params.sessionId !== viewer.sessionId && !ORGANISATION_ROLES.has(viewer.role)) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      const sessionId = String(req.params.sessionId);
      const recordings = deps.recordings().list(sessionId);
      const recorded = new Set(recordings.map((r) => r.participantId));
      const people = deps.sessions
        .listParticipants(sessionId)
        .filter((p) => recorded.has(p.id))
        .map((p) => ({ participantId: p.id, displayName: p.displayName, role: p.role }));
      const body: RecordingsResponse = { status: deps.recordings().status(sessionId), recordings, people };
      res.json(body);
    }, RECORDING_VIEWERS),
  );

  router.get(
    '/sessions/:sessionId/evidence-notes',
    as((req, res, viewer) => {
      if (req.params.sessionId !== viewer.sessionId && !ORGANISATION_ROLES.has(viewer.role)) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      res.json(deps.evidenceNotes(String(req.params.sessionId), viewer));
    }, RECORDING_VIEWERS),
  );

  // Streaming with range requests (seeking), decrypted as it streams: only the chunks a range
  // covers are read. The id must look like one of ours; the file path comes from the database,
  // never from the request.
  router.get(
    '/recordings/:id/media',
    as(async (req, res, viewer) => {
      const id = String(req.params.id);
      if (!RECORDING_ID.test(id)) throw new ProtocolFailure('NOT_FOUND', 'no such recording');
      const recording = deps.recordings().get(id);
      if (!recording || recording.status === 'deleted') throw new ProtocolFailure('NOT_FOUND', 'no such recording');
      if (!deps.auth.sameOrganisation(viewer, recording.sessionId)) throw new ProtocolFailure('NOT_FOUND', 'no such recording');
      if (recording.sessionId !== viewer.sessionId && !ORGANISATION_ROLES.has(viewer.role)) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      // One row per playback: its first request (a player asks for the start; seeks ask for other ranges).
      const range = req.headers.range;
      if (req.method === 'GET' && (!range || /^bytes=0-/.test(range))) {
        deps.audit.append({ sessionId: recording.sessionId, actorParticipantId: viewer.id, action: 'recording.played', detail: { recordingId: id } });
      }
      await sendRecording(req, res, (wanted) => deps.recordings().openRecordingStream(recording, wanted), deps.log);
    }, RECORDING_VIEWERS),
  );

  // ---- the coordinator's studio ----

  router.get('/studio/templates', as((_req, res, viewer) => void res.json(deps.templates.list(deps.auth.organisationOf(viewer))), coordinator));
  router.post(
    '/studio/templates',
    as((req, res, viewer) => {
      const body = TemplateSchema.parse({ ...req.body, version: 1 });
      const saved = deps.templates.saveNewVersion(body, deps.auth.organisationOf(viewer));
      deps.audit.append({ actorParticipantId: viewer.id, action: 'template.saved', detail: { templateId: saved.id, version: saved.version } });
      res.status(201).json(saved);
    }, coordinator),
  );

  // The people a coordinator can book: their organisation's (names and roles, no emails).
  router.get(
    '/studio/people',
    as((_req, res, viewer) => {
      const organisationId = deps.auth.organisationOf(viewer);
      const people: BookablePerson[] = organisationId ? deps.people(organisationId).map((p) => ({ id: p.id, displayName: p.displayName, roles: p.roles })) : [];
      res.json(people);
    }, coordinator),
  );

  router.get('/studio/scenarios', as((_req, res, viewer) => void res.json(deps.bank.list(undefined, deps.auth.organisationOf(viewer))), coordinator));
  router.put(
    '/studio/scenarios/:id',
    as((req, res, viewer) => {
      const scenario = ScenarioSchema.parse({ ...req.body, id: req.params.id });
      const saved = deps.bank.save(scenario, deps.auth.organisationOf(viewer));
      deps.audit.append({ actorParticipantId: viewer.id, action: 'scenario.saved', detail: { scenarioId: scenario.id } });
      res.json(saved);
    }, coordinator),
  );

  router.post(
    '/studio/sessions',
    as(async (req, res, viewer) => {
      let booking = BookSessionSchema.parse(req.body);
      // A coordinator booking from their own desk is the session's coordinator.
      if (viewer.personId && !booking.coordinator.personId && booking.coordinator.displayName === viewer.displayName) {
        booking = { ...booking, coordinator: { displayName: viewer.displayName, personId: viewer.personId } };
      }
      // The new session belongs to the booking coordinator's organisation.
      const organisationId = deps.auth.organisationOf(viewer);
      deps.bookingCheck?.(booking, organisationId);
      const { sessionId, participants } = deps.assessment.book(booking, Math.random, organisationId, viewer.id);
      deps.log.info({ sessionId, by: viewer.id }, 'session booked');
      res.status(201).json({ sessionId, invites: await inviteRows(participants) });
    }, coordinator),
  );

  router.get(
    '/studio/sessions/:sessionId/invites',
    as(async (req, res, viewer) => {
      const participants = deps.sessions.listParticipants(String(req.params.sessionId));
      if (participants.length === 0) throw new ProtocolFailure('NOT_FOUND', 'no such session');
      deps.audit.append({ sessionId: String(req.params.sessionId), actorParticipantId: viewer.id, action: 'invite.viewed' });
      res.json(await inviteRows(participants));
    }, coordinator),
  );

  /** A participant of the session in the path who holds an invite link (not staff with an account). */
  const linkHolder = (params: unknown): Participant => {
    const p = InviteParams.safeParse(params);
    const participant = p.success ? deps.sessions.getParticipant(p.data.participantId) : undefined;
    if (!p.success || !participant || participant.sessionId !== p.data.sessionId) throw new ProtocolFailure('NOT_FOUND', 'no such participant in this session');
    if (!LINK_HOLDERS.has(participant.role) || deps.auth.signsInAsStaff(participant)) {
      throw new ProtocolFailure('CONFLICT', `${participant.displayName} signs in with their own staff account: there is no link to reissue`);
    }
    return participant;
  };

  // Reissuing revokes the old link (and every browser signed in with it) and makes a new one.
  router.post(
    '/studio/sessions/:sessionId/participants/:participantId/invite',
    as(async (req, res, viewer) => {
      const participant = linkHolder(req.params);
      const link = await deps.invites.reissue(deps.baseUrl(), participant);
      deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: viewer.id, action: 'invite.reissued', detail: { participantId: participant.id } });
      const row: InviteRow = { participantId: participant.id, role: participant.role, displayName: participant.displayName, link };
      res.json(row);
    }, coordinator),
  );

  router.delete(
    '/studio/sessions/:sessionId/participants/:participantId/invite',
    as((req, res, viewer) => {
      const participant = linkHolder(req.params);
      const revoked = deps.invites.revoke(participant);
      deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: viewer.id, action: 'invite.revoked', detail: { participantId: participant.id, revoked } });
      res.json({ revoked });
    }, coordinator),
  );

  router.get(
    '/studio/board',
    as(async (_req, res, viewer) => {
      // Today's sessions of the coordinator's organisation (by planned start, or creation for
      // open rooms), and any day still live.
      const today = new Date();
      today.setHours(0, 0, 0, 0);
      const from = today.getTime();
      const to = from + 24 * 3600 * 1000;
      const shown = deps.sessions.listSessions(deps.auth.organisationOf(viewer)).flatMap((session) => {
        const day = deps.assessment.dayState(session.id);
        const when = day?.scheduledStart ?? Date.parse(session.createdAt);
        const live = day?.status === 'running' || day?.status === 'paused';
        return live || (when >= from && when < to) ? [{ session, day }] : [];
      });
      const connected = await deps.connectedBySession(shown.map(({ session }) => session.id));
      const rows: BoardRow[] = shown.map(({ session, day }) => {
        const online = connected.get(session.id) ?? new Set<string>();
        const testCalls = deps.testCalls(session.id);
        // The board is about the day in the room: an analyst takes no part in it.
        const people = deps.sessions.listParticipants(session.id).filter((p) => ROOM_ROLES.has(p.role)).map((p) => ({
          participantId: p.id,
          displayName: p.displayName,
          role: p.role,
          connected: online.has(p.id),
          testCall: testCalls.get(p.id) ?? null,
        }));
        return { sessionId: session.id, title: session.title, day, people, warnings: boardWarnings(day, people, deps, session.id), alerts: deps.assessment.alerts(session.id) };
      });
      res.json(rows);
    }, coordinator),
  );

  async function holderLink(p: Participant): Promise<Pick<InviteRow, 'link' | 'withdrawn'>> {
    const link = await deps.invites.current(deps.baseUrl(), p);
    return link ? { link } : { link: null, withdrawn: true };
  }

  async function inviteRows(participants: Participant[]): Promise<InviteRow[]> {
    return Promise.all(
      participants.map(async (p) => ({
        participantId: p.id,
        role: p.role,
        displayName: p.displayName,
        ...(LINK_HOLDERS.has(p.role) && !deps.auth.signsInAsStaff(p)
          ? await holderLink(p)
          : { link: null, staffAccount: deps.auth.signsInAsStaff(p) }),
      })),
    );
  }

  return router;
}

function boardWarnings(day: DayState | null, people: BoardRow['people'], deps: AssessmentRouteDeps, sessionId: string): string[] {
  if (!day || (day.status !== 'running' && day.status !== 'paused')) return [];
  const warnings: string[] = [];
  if (people.some((p) => p.role === 'candidate' && !p.connected)) warnings.push('Candidate disconnected');
  if (!people.some((p) => p.role === 'leadObserver' && p.connected)) warnings.push('Lead observer not connected');
  const phase = day.phases[day.phaseIndex];
  if (phase?.kind === 'scenario') {
    const slot = deps.assessment.plans.slots(sessionId).find((s) => s.number === phase.scenario);
    const actor = people.find((p) => p.participantId === slot?.actorParticipantId);
    if (actor && !actor.connected) warnings.push(`Actor for scenario ${phase.scenario} (${actor.displayName}) missing`);
  }
  if (day.status === 'paused') warnings.push('Paused');
  const recording = deps.recordings().status(sessionId);
  if (recording.state === 'failed' || recording.state === 'restarting') warnings.push(`Recording: ${recording.detail}`);
  return warnings;
}
