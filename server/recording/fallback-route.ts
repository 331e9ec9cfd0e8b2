// POST /sessions/:sessionId/fallback-recording — the lead observer's backup recording
// (protocol: shared/recording-upload.ts). The participant is authenticated and every rule is
// checked from the request line and headers before the body is read; until the body has been
// read in full, every answer closes the connection, so a refused body is never drained or
// buffered (issue 11, row 10: `express.raw` used to hold 8 MB per request before any check).
import type { RequestHandler, Response } from 'express';
import type { ApiErrorCode } from '../../shared/errors.ts';
import type { FallbackRefusal, FallbackUploadError } from '../../shared/recording-upload.ts';
import { FallbackUploadHeadersSchema, FallbackUploadQuerySchema } from '../../shared/recording-upload-schemas.ts';
import type { DayState } from '../../shared/assessment.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import { participantRoute } from '../http/participant-route.ts';
import type { Logger } from '../log.ts';
import type { FallbackUploads } from './fallback-uploads.ts';

const HTTP_FOR: Record<FallbackRefusal, readonly [number, ApiErrorCode]> = {
  DAY_NOT_LIVE: [409, 'CONFLICT'],
  PHASE_NOT_RECORDED: [404, 'NOT_FOUND'],
  RECORDER_NOT_DOWN: [403, 'FORBIDDEN'],
  OUT_OF_ORDER: [409, 'CONFLICT'],
  CHUNK_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  RUN_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  SESSION_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  DISK_FULL: [507, 'INSUFFICIENT_STORAGE'],
  EMPTY_CHUNK: [400, 'INVALID_REQUEST'],
  BODY_INCOMPLETE: [400, 'INVALID_REQUEST'],
  INVALID_REQUEST: [400, 'INVALID_REQUEST'],
};

export interface FallbackRouteDeps {
  auth: ParticipantAuth;
  log: Logger;
  dayState: (sessionId: string) => DayState | null;
  /** A getter: the recorder starts after the routes are built. */
  uploads: () => FallbackUploads;
}

export function fallbackRecordingRoute(deps: FallbackRouteDeps): RequestHandler[] {
  const as = participantRoute(deps);
  const closeUntilRead: RequestHandler = (_req, res, next) => {
    res.setHeader('Connection', 'close');
    next();
  };
  const upload = as(
    async (req, res, viewer) => {
      if (req.params.sessionId !== viewer.sessionId) throw new ProtocolFailure('FORBIDDEN', 'this is not your session');
      const query = FallbackUploadQuerySchema.safeParse(req.query);
      const headers = FallbackUploadHeadersSchema.safeParse({
        'x-fallback-run': req.headers['x-fallback-run'] ?? 1,
        'x-fallback-started-at': req.headers['x-fallback-started-at'] ?? Date.now(),
        'content-length': req.headers['content-length'],
      });
      if (!query.success || !headers.success) {
        return refuse(res, 'INVALID_REQUEST', 'phaseIndex and seq query parameters, X-Fallback-Run and X-Fallback-Started-At headers are required');
      }
      const outcome = await deps.uploads().receive({
        sessionId: viewer.sessionId,
        uploaderId: viewer.id,
        day: deps.dayState(viewer.sessionId),
        phaseIndex: query.data.phaseIndex,
        seq: query.data.seq,
        run: headers.data['x-fallback-run'],
        runStartedAt: headers.data['x-fallback-started-at'],
        declaredBytes: headers.data['content-length'],
        body: req,
      });
      if (!outcome.ok) {
        deps.log.warn({ sessionId: viewer.sessionId, reason: outcome.reason, phaseIndex: query.data.phaseIndex, seq: query.data.seq }, 'backup recording chunk refused');
        return refuse(res, outcome.reason, outcome.message, outcome.expectedSeq);
      }
      // The whole body was read: this connection may be kept.
      res.removeHeader('Connection');
      res.status(204).end();
    },
    ['leadObserver'],
  );
  return [closeUntilRead, upload];
}

function refuse(res: Response, reason: FallbackRefusal, message: string, expectedSeq?: number): void {
  const [status, code] = HTTP_FOR[reason];
  const body: FallbackUploadError = { error: { code, message, reason, ...(expectedSeq === undefined ? {} : { expectedSeq }) } };
  res.status(status).json(body);
}
