// Every API route acts as one named participant (`?participantId=`), proven by that
// participant's cookie; a route may be limited to some roles. Refusals become the API's
// plain-language errors: a ProtocolFailure keeps its code, a schema failure names the fields.
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { ApiErrorCode } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import { describeAuthFailure, type ParticipantAuth } from '../auth/participant-auth.ts';
import type { Logger } from '../log.ts';
import { sendApiError } from './app.ts';

export type ParticipantHandler = (req: Request, res: Response, viewer: Participant) => Promise<void> | void;

const STATUS_FOR: Record<string, number> = {
  INVALID_PAYLOAD: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
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
        await handler(req, res, auth.participant);
      } catch (error) {
        if (error instanceof ProtocolFailure) {
          deps.log.warn({ code: error.code, reason: error.message, path: req.path }, 'request refused');
          return sendApiError(res, STATUS_FOR[error.code] ?? 400, apiCode(error.code), error.message);
        }
        if (error instanceof z.ZodError) {
          const detail = error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
          return sendApiError(res, 400, 'INVALID_REQUEST', detail.slice(0, 1000));
        }
        next(error);
      }
    };
}

function apiCode(code: string): ApiErrorCode {
  return code === 'INVALID_PAYLOAD' ? 'INVALID_REQUEST' : (code as ApiErrorCode);
}
