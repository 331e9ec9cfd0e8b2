// HTTP routes of observer calibration: coordinators list recorded scenarios of signed-off
// sessions and make cases of them; observers and lead observers (of any session of the organisation) list cases,
// watch a case's recordings (and no other), and submit one attempt each. Candidates, actors and
// moderators reach none of it. The service audits creating, viewing and submitting.
import express from 'express';
import { CalibrationAttemptSchema, CalibrationCaseParamsSchema, CalibrationMediaParamsSchema, CreateCalibrationCaseSchema } from '../../shared/calibration.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { CalibrationService } from '../calibration/calibration-service.ts';
import type { Logger } from '../log.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import { sendRecording } from '../recording/media-response.ts';
import { participantRoute } from './participant-route.ts';

export interface CalibrationRouteDeps {
  auth: ParticipantAuth;
  calibration: CalibrationService;
  audit: AuditRepo;
  /** Decrypts the case's recordings (a getter: the recorder starts after the routes are built). */
  recordings: () => Pick<RecordingService, 'openRecordingStream'>;
  log: Logger;
}

const COORDINATOR = ['coordinator'] as const;
const OBSERVERS = ['observer', 'leadObserver'] as const;
const CASE_READERS = ['observer', 'leadObserver', 'coordinator'] as const;

const paramsOr404 = <T>(parsed: { success: true; data: T } | { success: false }): T => {
  if (!parsed.success) throw new ProtocolFailure('NOT_FOUND', 'no such calibration case');
  return parsed.data;
};

export function calibrationRoutes(deps: CalibrationRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  router.use('/calibration', express.json({ limit: '8kb' }));

  router.get('/calibration/sources', as((_req, res, viewer) => void res.json(deps.calibration.sources(viewer)), COORDINATOR));

  router.post(
    '/calibration/cases',
    as((req, res, viewer) => {
      const made = deps.calibration.createCase(viewer, CreateCalibrationCaseSchema.parse(req.body));
      res.status(201).json({ id: made.id, title: made.title, reference: made.reference, createdAt: made.createdAt });
    }, COORDINATOR),
  );

  router.get('/calibration/cases', as((_req, res, viewer) => void res.json(deps.calibration.list(viewer)), CASE_READERS));

  router.get(
    '/calibration/cases/:caseId',
    as((req, res, viewer) => {
      const { caseId } = paramsOr404(CalibrationCaseParamsSchema.safeParse(req.params));
      res.json(deps.calibration.view(viewer, caseId));
    }, CASE_READERS),
  );

  router.post(
    '/calibration/cases/:caseId/attempt',
    as((req, res, viewer) => {
      const { caseId } = paramsOr404(CalibrationCaseParamsSchema.safeParse(req.params));
      res.status(201).json(deps.calibration.submit(viewer, caseId, CalibrationAttemptSchema.parse(req.body)));
    }, OBSERVERS),
  );

  // The case's recordings only (the file path comes from the database, never the request).
  router.get(
    '/calibration/cases/:caseId/recordings/:recordingId/media',
    as(async (req, res, viewer) => {
      const { caseId, recordingId } = paramsOr404(CalibrationMediaParamsSchema.safeParse(req.params));
      const file = deps.calibration.recordingFile(viewer, caseId, recordingId);
      // One row per playback: its first request (seeks ask for other ranges).
      const range = req.headers.range;
      if (req.method === 'GET' && (!range || /^bytes=0-/.test(range))) deps.audit.append({ actor: actingPerson(viewer), action: 'recording.played', detail: { recordingId, calibrationCaseId: caseId } });
      // Decrypted as it streams: only the chunks the range covers are read.
      await sendRecording(req, res, (wanted) => deps.recordings().openRecordingStream({ file }, wanted), deps.log);
    }, CASE_READERS),
  );

  return router;
}
