// Every API route acts as one named participant (`?participantId=`), proven by that
// participant's cookie; a route may be limited to some roles. Refusals become the API's
// plain-language errors: a ProtocolFailure keeps its code, a schema failure names the fields.
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { ApiErrorCode } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { ErrorCode } from '../../shared/protocol.ts';
import { describeAuthFailure, type ParticipantAuth } from '../auth/participant-auth.ts';
import type { Logger } from '../log.ts';
import { sendApiError } from './app.ts';

export type ParticipantHandler = (req: Request, res: Response, viewer: Participant) => Promise<void> | void;

/** Every protocol error code as an HTTP status and API code (total over the closed set). */
const HTTP_FOR: Record<ErrorCode, readonly [number, ApiErrorCode]> = {
  INVALID_PAYLOAD: [400, 'INVALID_REQUEST'],
  PAYLOAD_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  UNKNOWN_EVENT: [400, 'INVALID_REQUEST'],
  UNAUTHENTICATED: [401, 'UNAUTHENTICATED'],
  FORBIDDEN: [403, 'FORBIDDEN'],
  NOT_FOUND: [404, 'NOT_FOUND'],
  NOT_JOINED: [409, 'CONFLICT'],
  CONFLICT: [409, 'CONFLICT'],
  PROTOCOL_VERSION_MISMATCH: [400, 'INVALID_REQUEST'],
  MEDIA_ERROR: [400, 'INVALID_REQUEST'],
  RATE_LIMITED: [429, 'RATE_LIMITED'],
  INTERNAL: [500, 'INTERNAL'],
};

const ParticipantQuery = z.object({ participantId: z.string().min(1).max(64) });

export function participantRoute(deps: { auth: ParticipantAuth; log: Logger }) {
  return (handler: ParticipantHandler, allowed?: ReadonlyArray<Participant['role']>) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const query = ParticipantQuery.safeParse(req.query);
        if (!query.success) return sendApiError(res, 400, 'INVALID_REQUEST', 'participantId query parameter is required');
        const auth = await deps.auth.fromCookieHeader(req.headers.cookie, query.data.participantId);
        if (!auth.ok) return sendApiError(res, 401, 'UNAUTHENTICATED', describeAuthFailure(auth.reason));
        if (allowed && !allowed.includes(auth.participant.role)) {
          deps.log.warn({ role: auth.participant.role, path: req.path }, 'route refused for this role');
          return sendApiError(res, 403, 'FORBIDDEN', `a ${auth.participant.role} may not do this`);
        }
        // Another organisation's session is as absent as one that does not exist (issue 13).
        const sessionParam = req.params.sessionId;
        if (typeof sessionParam === 'string' && !deps.auth.sameOrganisation(auth.participant, sessionParam)) {
          return sendApiError(res, 404, 'NOT_FOUND', 'no such session');
        }
        await handler(req, res, auth.participant);
      } catch (error) {
        if (error instanceof ProtocolFailure) {
          deps.log.warn({ code: error.code, reason: error.message, path: req.path }, 'request refused');
          const [status, code] = HTTP_FOR[error.code];
          return sendApiError(res, status, code, error.message);
        }
        if (error instanceof z.ZodError) {
          const detail = error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
          return sendApiError(res, 400, 'INVALID_REQUEST', detail.slice(0, 1000));
        }
        next(error);
      }
    };
}
