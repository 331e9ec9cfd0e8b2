// HTTP routes: health, invite links, "who am I", and the built client.
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { landingPath, sessionCookieName, type ApiError, type ApiErrorCode, type HealthResponse, type MeResponse } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import { SIGN_IN_PATH } from '../../shared/people.ts';
import { describeAuthFailure, ParticipantAuth } from '../auth/participant-auth.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { SignInFailures } from '../auth/sign-in-failures.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { LogBudget } from '../log-budget.ts';
import type { Logger } from '../log.ts';
import { ClientPages } from './client-pages.ts';

export interface HttpDeps {
  version: string;
  clientDir: string;
  auth: ParticipantAuth;
  tokens: TokenService;
  sessions: SessionsRepo;
  audit: AuditRepo;
  /** Refused invite links, audited and logged within a budget (anyone can cause them). */
  signInFailures: SignInFailures;
  sessionTtlSeconds: number;
  cookieSecure: 'auto' | boolean;
  health: () => HealthResponse;
  /** For the room page's PageBoot (see RoomRegistry.routerRtpCapabilities). */
  routerRtpCapabilities: () => Promise<unknown>;
  /** For the room page's PageBoot: whether the current notices are accepted (PrivacyNotices.acceptedCurrent). */
  noticesAccepted: (participant: Participant) => boolean;
  /** Further /api routes (the assessment day's). */
  extraApi?: express.Router;
  /** The name shown for a staff desk's organisation. */
  organisationName: (organisationId: string) => string;
  /** Further page routes outside /api (sign-in links). */
  extraPages?: express.Router;
  log: Logger;
}

const ParticipantQuery = z.object({ participantId: z.string().min(1).max(64) });

export function sendApiError(res: Response, status: number, code: ApiErrorCode, message: string): void {
  const body: ApiError = { error: { code, message } };
  res.status(status).json(body);
}

export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use((req, res, next) => {
    // The studio embeds nothing from elsewhere; a strict policy blocks injected scripts.
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });

  app.get('/api/health', (_req, res) => {
    const health = deps.health();
    res.status(health.status === 'ok' ? 200 : 503).json(health);
  });

  // Opening an invite link exchanges the link's token for an HttpOnly session cookie that
  // names this participant, then lands on the participant's room page.
  app.get('/join/:token', async (req, res) => {
    const result = await deps.auth.fromToken('invite', String(req.params.token));
    if (!result.ok) {
      const known = result.participantId ? deps.sessions.getParticipant(result.participantId) : undefined;
      const log = { fields: { reason: result.reason, ip: req.ip }, message: 'invite link refused' };
      if (known) deps.signInFailures.record({ sessionId: known.sessionId, actorParticipantId: known.id, action: 'invite.refused', detail: { reason: result.reason } }, log);
      else deps.signInFailures.logOnly(log);
      res
        .status(401)
        .type('html')
        .send(
          invitePage(
            result.reason === 'expired'
              ? 'This invite link has expired. Please ask your session coordinator for a new link.'
              : result.reason === 'revoked'
                ? 'This invite link has been withdrawn or replaced by a newer one. Use the newest link your coordinator sent you, or ask them for one.'
              : 'This invite link is not valid. Check that you opened the whole link from your invitation, or ask your session coordinator for a new one.',
          ),
        );
      return;
    }
    const { participant } = result;
    if (deps.auth.signsInAsStaff(participant)) {
      deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: participant.id, action: 'invite.refused', detail: { reason: 'staff sign in as themselves' } });
      res
        .status(403)
        .type('html')
        .send(invitePage(`${participant.displayName} signs in to SimStudio with their own work email: open ${SIGN_IN_PATH} and ask for a sign-in link. This link cannot be used.`));
      return;
    }
    const token = await deps.tokens.sign(
      'session',
      { participantId: participant.id, sessionId: participant.sessionId, role: participant.role, ...(result.proof.kind === 'link' ? { linkId: result.proof.linkId } : {}) },
      deps.sessionTtlSeconds,
    );
    res.cookie(sessionCookieName(participant.id), token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.cookieSecure === 'auto' ? req.secure : deps.cookieSecure,
      path: '/',
      maxAge: deps.sessionTtlSeconds * 1000,
    });
    deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: participant.id, action: 'invite.opened' });
    res.redirect(303, landingPath(participant));
  });

  app.get('/api/me', async (req, res) => {
    const query = ParticipantQuery.safeParse(req.query);
    if (!query.success) return sendApiError(res, 400, 'INVALID_REQUEST', 'participantId query parameter is required');
    const result = await deps.auth.fromCookieHeader(req.headers.cookie, query.data.participantId);
    if (!result.ok) {
      deps.log.warn({ reason: result.reason, route: '/api/me' }, 'request not authenticated');
      return sendApiError(res, 401, 'UNAUTHENTICATED', describeAuthFailure(result.reason));
    }
    const me = meFor(result.participant);
    if (!me) return sendApiError(res, 404, 'NOT_FOUND', 'session not found');
    res.json(me);
  });

  const meFor = (participant: Participant): MeResponse | null => {
    const organisation = ParticipantAuth.isDesk(participant) ? deps.auth.organisationOf(participant) : undefined;
    if (organisation !== undefined) {
      // A staff desk: no session; its "session" is the organisation.
      return { participantId: participant.id, sessionId: participant.sessionId, sessionTitle: deps.organisationName(organisation), sessionLevel: 'practitioner', displayName: participant.displayName, role: participant.role };
    }
    const session = deps.sessions.getSession(participant.sessionId);
    if (!session) return null;
    return {
      participantId: participant.id,
      sessionId: session.id,
      sessionTitle: session.title,
      sessionLevel: session.level,
      displayName: participant.displayName,
      role: participant.role,
    };
  };

  if (deps.extraApi) app.use('/api', deps.extraApi);
  if (deps.extraPages) app.use(deps.extraPages);
  app.use('/api', (_req, res) => sendApiError(res, 404, 'NOT_FOUND', 'no such API route'));

  const pages = ClientPages.load(deps.clientDir);
  if (pages) {
    app.use(express.static(deps.clientDir, { index: false, maxAge: '1h' }));
    const sendPage = (res: Response, html: string): void => {
      // Pages name the current build's chunks (and a room page who is signed in): never cached.
      res.setHeader('Cache-Control', 'no-store');
      res.type('html').send(html);
    };
    // The room page carries who is signed in (when the cookie says so), so the page does not
    // have to ask before it opens its socket; anyone else gets the same page without it.
    app.get('/room/:participantId', async (req, res) => {
      const participantId = String(req.params.participantId);
      const signedIn = participantId.length <= 64 ? await deps.auth.fromCookieHeader(req.headers.cookie, participantId) : null;
      const me = signedIn?.ok ? meFor(signedIn.participant) : null;
      // An analyst has no room: their work is on the analytics page.
      if (signedIn?.ok && !ROOM_ROLES.has(signedIn.participant.role)) return res.redirect(303, landingPath(signedIn.participant));
      // Without the capabilities the page still works: it learns them from its join, a step later.
      const routerRtpCapabilities = me ? await deps.routerRtpCapabilities().catch(() => undefined) : undefined;
      const noticesAccepted = signedIn?.ok === true && deps.noticesAccepted(signedIn.participant);
      sendPage(res, pages.roomPage(me ? { me, noticesAccepted, ...(routerRtpCapabilities ? { routerRtpCapabilities } : {}) } : null));
    });
    app.get(['/', '/studio/:participantId', '/playback/:participantId', '/moderation/:participantId', '/analytics/:participantId', '/calibration/:participantId', '/signin', '/staff'], (_req, res) => sendPage(res, pages.indexHtml));
  } else {
    deps.log.warn({ clientDir: deps.clientDir }, 'client not built: run `npm run build` (npm start does it)');
    app.get('/', (_req, res) => res.type('text').send('SimStudio server is running, but the client is not built: run `npm run build`.'));
  }

  // Whatever matched nothing (including paths that are not valid URLs, e.g. `//x`).
  app.use((_req, res) => sendApiError(res, 404, 'NOT_FOUND', 'no such page'));

  // The one catch at the HTTP boundary: body-parser, URL decoding and static-file errors carry
  // a 4xx status and become a typed refusal; anything else is our fault (500). Both kinds are
  // logged under a budget, since a client can trigger them at will.
  const refusedLog = new LogBudget(deps.log, 20);
  const failedLog = new LogBudget(deps.log, 20);
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err); // Express's default handler closes the connection.
    const refusal = httpRefusal(err);
    if (refusal) {
      refusedLog.warn({ status: refusal.status, code: refusal.code, type: errorType(err), method: req.method, ip: req.ip }, 'HTTP request refused');
      return sendApiError(res, refusal.status, refusal.code, refusal.message);
    }
    failedLog.error({ err: err instanceof Error ? err.stack : String(err), method: req.method }, 'unhandled HTTP error');
    sendApiError(res, 500, 'INTERNAL', 'internal error');
  });

  return app;
}

/** What a client-caused error (one with a 4xx status, as body-parser, the router's parameter
 *  decoding and serve-static give) becomes; undefined for anything else. */
export function httpRefusal(err: unknown): { status: number; code: ApiErrorCode; message: string } | undefined {
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown } | null;
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status < 400 || status > 499) return undefined;
  switch (errorType(err)) {
    case 'entity.too.large':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'the request body is larger than this route accepts' };
    case 'parameters.too.many':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'the request has too many parameters' };
    case 'entity.parse.failed':
      return { status: 400, code: 'INVALID_REQUEST', message: 'the request body is not valid JSON' };
    case 'encoding.unsupported':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content encoding' };
    case 'charset.unsupported':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported charset: send UTF-8' };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, code: 'INVALID_REQUEST', message: 'the request body was cut short' };
  }
  if (status === 401) return { status, code: 'UNAUTHENTICATED', message: 'not signed in' };
  if (status === 403) return { status, code: 'FORBIDDEN', message: 'forbidden' };
  if (status === 404) return { status, code: 'NOT_FOUND', message: 'not found' };
  if (status === 413) return { status, code: 'PAYLOAD_TOO_LARGE', message: 'the request is too large' };
  if (status === 415) return { status, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported media type' };
  return { status: 400, code: 'INVALID_REQUEST', message: 'malformed request (e.g. a path or parameter that is not valid percent-encoding)' };
}

function errorType(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

function invitePage(message: string): string {
  const escaped = message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SimStudio — invite link</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>SimStudio</h1><p role="alert">${escaped}</p></body></html>`;
}
