// Staff sign-in and the organisation's people (issue 13). Staff prove who they are by a
// magic link sent to their email (or single sign-on) and then hold a server-side session
// (server/identity/staff-sessions.ts); every route here acts as that person, inside their own
// organisation only. Refusals and sign-ins are audited with the person.
import express, { type NextFunction, type Request, type Response } from 'express';
import { parseCookie } from 'cookie';
import { z } from 'zod';
import {
  MAGIC_BROWSER_COOKIE,
  MagicLinkRequestSchema,
  NewPersonSchema,
  PersonChangeSchema,
  SIGN_IN_PATH,
  STAFF_COOKIE,
  STAFF_HOME_PATH,
  STAFF_ROLES,
  type MyAssignment,
  type OrgSsoResponse,
  type OutboxMessageView,
  type OrgRole,
  type Person,
  type StaffMeResponse,
} from '../../shared/people.ts';
import { landingPath } from '../../shared/api.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { SignInFailures } from '../auth/sign-in-failures.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { MAGIC_LINK_SECONDS, type MagicLinks } from '../identity/magic-links.ts';
import { newSecret, SECRET_PATTERN } from '../identity/secrets.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import { auditPerson, cookieOptions, signIn } from '../identity/sign-in-cookie.ts';
import type { Logger } from '../log.ts';
import type { PeopleRepo } from '../people/people-repo.ts';
import type { OutgoingMail } from '../mail/mail-message.ts';
import { beginSignIn, completeSignIn, OIDC_PENDING_SECONDS, oidcRedirectUri, OidcSettingsSchema } from '../identity/oidc.ts';
import type { SsoRepo } from '../identity/sso-repo.ts';
import { sendApiError } from './app.ts';
import { organisationAuditCsv } from './organisation-audit-csv.ts';


export interface IdentityRouteDeps {
  people: PeopleRepo;
  staffSessions: StaffSessions;
  magicLinks: MagicLinks;
  sso: SsoRepo;
  sessions: SessionsRepo;
  assessment: AssessmentService;
  audit: AuditRepo;
  /** Failed sign-ins, audited and logged within a budget (anyone can cause them). */
  signInFailures: SignInFailures;
  sendMail: (mail: OutgoingMail) => void;
  /** The organisation's outbox, newest first. */
  outbox: (organisationId: string) => Array<Omit<OutboxMessageView, 'text'> & { text: string }>;
  baseUrl: () => string;
  cookieSecure: 'auto' | boolean;
  log: Logger;
}

export interface StaffViewer {
  person: Person;
  /** The sign-in session this request came with. */
  signInId: string;
}

type StaffHandler = (req: Request, res: Response, viewer: StaffViewer) => Promise<void> | void;

/** HttpOnly cookie naming the browser's single sign-on attempt (10 minutes). */
const OIDC_BROWSER_COOKIE = 'simstudio_oidc';

const PersonParam = z.object({ id: z.string().regex(/^[A-Za-z0-9-]{1,80}$/) });

export function identityRoutes(deps: IdentityRouteDeps): { api: express.Router; pages: express.Router } {
  const api = express.Router();
  const pages = express.Router();
  api.use(['/auth', '/staff', '/org'], express.json({ limit: '16kb' }));

  /** Every staff route: the signed-in person, and (when given) one of these roles. */
  const staff =
    (handler: StaffHandler, roles?: readonly OrgRole[]) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      let viewer: Person | undefined;
      try {
        const secret = req.headers.cookie ? parseCookie(req.headers.cookie)[STAFF_COOKIE] : undefined;
        const auth = deps.staffSessions.verify(secret);
        if (!auth.ok) {
          const message = auth.reason === 'expired' ? 'Your sign-in has expired: sign in again.' : 'You are not signed in.';
          return sendApiError(res, 401, 'UNAUTHENTICATED', message);
        }
        if (roles && !roles.some((r) => auth.person.roles.includes(r))) {
          deps.audit.append({ person: auditPerson(auth.person), action: 'access.refused', detail: { path: req.path } });
          return sendApiError(res, 403, 'FORBIDDEN', `this needs the ${roles.join(' or ')} role`);
        }
        viewer = auth.person;
        await handler(req, res, { person: auth.person, signInId: auth.sessionId });
      } catch (error) {
        if (error instanceof ProtocolFailure) {
          // A refusal decided by the handler (say, a coordinator making an administrator) is
          // audited like one decided by role.
          if (error.code === 'FORBIDDEN' && viewer) deps.audit.append({ person: auditPerson(viewer), action: 'access.refused', detail: { path: req.path, reason: error.message } });
          const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'FORBIDDEN' ? 403 : error.code === 'CONFLICT' ? 409 : error.code === 'RATE_LIMITED' ? 429 : 400;
          return sendApiError(res, status, status === 404 ? 'NOT_FOUND' : status === 403 ? 'FORBIDDEN' : status === 409 ? 'CONFLICT' : status === 429 ? 'RATE_LIMITED' : 'INVALID_REQUEST', error.message);
        }
        if (error instanceof z.ZodError) {
          const detail = error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
          return sendApiError(res, 400, 'INVALID_REQUEST', detail.slice(0, 1000));
        }
        next(error);
      }
    };

  // ---- magic links ----

  // The answer is the same whether or not the address is known (no list of staff to be had).
  api.post('/auth/magic-link', (req, res) => {
    const body = MagicLinkRequestSchema.safeParse(req.body);
    if (!body.success) return sendApiError(res, 400, 'INVALID_REQUEST', 'give a valid email address');
    let browser = req.headers.cookie ? parseCookie(req.headers.cookie)[MAGIC_BROWSER_COOKIE] : undefined;
    if (!browser || !SECRET_PATTERN.test(browser)) {
      browser = newSecret();
      res.cookie(MAGIC_BROWSER_COOKIE, browser, cookieOptions(req, deps.cookieSecure, MAGIC_LINK_SECONDS));
    }
    for (const person of deps.people.everyWithEmail(body.data.email)) {
      if (!person.roles.some((r) => STAFF_ROLES.has(r))) continue;
      if (!deps.magicLinks.mayIssue(person.id)) {
        deps.audit.append({ person: auditPerson(person), action: 'signin.link_refused', detail: { reason: 'too many links asked for' } });
        continue;
      }
      const token = deps.magicLinks.issue(person.id, 'email', browser);
      const organisation = deps.people.organisation(person.organisationId);
      deps.sendMail({
        organisationId: person.organisationId,
        to: body.data.email,
        subject: 'Your SimStudio sign-in link',
        kind: 'signin-link',
        text: signInMailText(person.displayName, organisation?.name ?? '', `${deps.baseUrl()}/auth/magic/${token}`, '15 minutes', 'in the browser where you asked for it'),
      });
      deps.audit.append({ person: auditPerson(person), action: 'signin.link_sent', detail: { purpose: 'email' } });
    }
    res.status(202).json({ message: 'If that address belongs to someone who may sign in, a link is on its way. It works once, for 15 minutes, in this browser.' });
  });

  pages.get('/auth/magic/:token', (req, res) => {
    const token = String(req.params.token);
    const browser = req.headers.cookie ? parseCookie(req.headers.cookie)[MAGIC_BROWSER_COOKIE] : undefined;
    const use = deps.magicLinks.consume(token, browser);
    const person = use.personId ? deps.people.get(use.personId) : undefined;
    if (!use.ok || !person || person.removedAt) {
      const reason = use.ok ? 'removed' : use.reason;
      deps.signInFailures.record(
        {
          person: person ? auditPerson(person) : { personId: null, name: 'unknown', role: 'unknown', organisationId: null },
          action: 'signin.failed',
          detail: { method: 'magic-link', reason },
        },
        { fields: { reason }, message: 'magic link refused' },
      );
      return res.redirect(303, `${SIGN_IN_PATH}?error=${encodeURIComponent(reason)}`);
    }
    signIn(deps, req, res, person, use.purpose === 'email' ? 'magic-link' : use.purpose);
    res.redirect(303, STAFF_HOME_PATH);
  });

  // ---- single sign-on (OpenID Connect), per organisation ----

  api.get('/auth/sso', (_req, res) => void res.json(deps.sso.organisationsWithSso()));

  pages.get('/auth/oidc/start', async (req, res, next) => {
    try {
      const organisationId = z.object({ organisation: z.string().min(1).max(80) }).safeParse(req.query);
      const settings = organisationId.success ? deps.sso.settings(organisationId.data.organisation) : undefined;
      if (!organisationId.success || !settings) return res.redirect(303, `${SIGN_IN_PATH}?error=oidc`);
      const begun = await beginSignIn(settings, oidcRedirectUri(deps.baseUrl()));
      if (!begun.ok) {
        deps.log.warn({ reason: begun.reason, detail: begun.detail }, 'single sign-on could not start');
        return res.redirect(303, `${SIGN_IN_PATH}?error=oidc`);
      }
      const browser = newSecret();
      deps.sso.begin(browser, organisationId.data.organisation, begun.pending);
      res.cookie(OIDC_BROWSER_COOKIE, browser, cookieOptions(req, deps.cookieSecure, OIDC_PENDING_SECONDS));
      res.redirect(303, begun.url);
    } catch (error) {
      next(error);
    }
  });

  pages.get('/auth/oidc/callback', async (req, res, next) => {
    try {
      const browser = req.headers.cookie ? parseCookie(req.headers.cookie)[OIDC_BROWSER_COOKIE] : undefined;
      res.clearCookie(OIDC_BROWSER_COOKIE, { path: '/' });
      const attempt = browser && SECRET_PATTERN.test(browser) ? deps.sso.take(browser) : undefined;
      const settings = attempt ? deps.sso.settings(attempt.organisationId) : undefined;
      const refuse = (reason: string, organisationId: string | null, personId: string | null = null, name = 'unknown'): void => {
        deps.signInFailures.record(
          { person: { personId, name, role: 'unknown', organisationId }, action: 'signin.failed', detail: { method: 'oidc', reason } },
          { fields: { reason }, message: 'single sign-on refused' },
        );
        res.redirect(303, `${SIGN_IN_PATH}?error=oidc`);
      };
      if (!attempt || !settings) return refuse('no sign-in in progress in this browser', attempt?.organisationId ?? null);
      const callbackUrl = new URL(req.originalUrl, deps.baseUrl());
      const result = await completeSignIn(settings, oidcRedirectUri(deps.baseUrl()), attempt.pending, callbackUrl);
      if (!result.ok) return refuse(`${result.reason}: ${result.detail}`, attempt.organisationId);
      // The provider identity decides once linked; before that, the organisation's provider
      // vouches for the email address of one of the organisation's staff.
      const linked = deps.sso.personFor(result.issuer, result.subject);
      let person = linked ? deps.people.get(linked) : deps.people.byEmail(attempt.organisationId, result.email);
      if (!person || person.organisationId !== attempt.organisationId || person.removedAt || !person.roles.some((r) => STAFF_ROLES.has(r))) {
        return refuse('no member of staff of this organisation has this identity', attempt.organisationId);
      }
      if (!linked) {
        if (deps.sso.identityOf(person.id, result.issuer)) return refuse('another identity at this provider is linked to this person', person.organisationId, person.id, person.displayName);
        deps.sso.link(person.id, result.issuer, result.subject);
        person = deps.people.get(person.id)!;
      }
      signIn(deps, req, res, person, 'oidc');
      res.redirect(303, STAFF_HOME_PATH);
    } catch (error) {
      next(error);
    }
  });

  api.get(
    '/org/sso',
    staff((_req, res, { person }) => {
      const summary = deps.sso.summary(person.organisationId);
      const redirectUri = oidcRedirectUri(deps.baseUrl());
      // Never the client secret: it stays on the server once given.
      const body: OrgSsoResponse = summary
        ? { configured: true, issuer: summary.issuer, clientId: summary.clientId, secretReadable: summary.secretReadable, redirectUri }
        : { configured: false, redirectUri };
      res.json(body);
    }, ['administrator']),
  );

  api.put(
    '/org/sso',
    staff((req, res, { person }) => {
      const settings = OidcSettingsSchema.parse(req.body);
      deps.sso.save(person.organisationId, settings);
      deps.audit.append({ person: auditPerson(person), action: 'organisation.sso_saved', detail: { issuer: settings.issuer, clientId: settings.clientId } });
      const body: OrgSsoResponse = { configured: true, issuer: settings.issuer, clientId: settings.clientId, secretReadable: true, redirectUri: oidcRedirectUri(deps.baseUrl()) };
      res.json(body);
    }, ['administrator']),
  );

  // ---- the signed-in person ----

  api.get(
    '/staff/me',
    staff((_req, res, { person }) => {
      const organisation = deps.people.organisation(person.organisationId)!;
      const body: StaffMeResponse = { person, organisation, assignments: assignmentsOf(person, deps) };
      res.json(body);
    }),
  );

  api.get('/staff/sign-ins', staff((_req, res, { person, signInId }) => void res.json(deps.staffSessions.list(person.id, signInId))));

  api.delete(
    '/staff/sign-ins/:id',
    staff((req, res, { person }) => {
      if (!deps.staffSessions.revoke(person.id, String(req.params.id))) throw new ProtocolFailure('NOT_FOUND', 'no such sign-in of yours');
      deps.audit.append({ person: auditPerson(person), action: 'signin.revoked', detail: { signInId: String(req.params.id) } });
      res.status(204).end();
    }),
  );

  api.post(
    '/staff/sign-out',
    staff((req, res, { person, signInId }) => {
      deps.staffSessions.revoke(person.id, signInId);
      deps.audit.append({ person: auditPerson(person), action: 'signout', detail: {} });
      res.clearCookie(STAFF_COOKIE, { path: '/' });
      res.status(204).end();
    }),
  );

  api.post(
    '/staff/sign-out-everywhere',
    staff((_req, res, { person }) => {
      const ended = deps.staffSessions.revokeAll(person.id);
      deps.audit.append({ person: auditPerson(person), action: 'signout.everywhere', detail: { ended } });
      res.clearCookie(STAFF_COOKIE, { path: '/' });
      res.json({ ended });
    }),
  );

  // ---- the organisation's people ----

  const peopleManagers = ['administrator', 'coordinator'] as const;

  api.get('/org/people', staff((_req, res, { person }) => void res.json(deps.people.list(person.organisationId)), peopleManagers));

  api.post(
    '/org/people',
    staff((req, res, { person }) => {
      const input = NewPersonSchema.parse(req.body);
      // Coordinators manage the people of their bookings; only administrators make administrators.
      if (input.roles.includes('administrator') && !person.roles.includes('administrator')) {
        throw new ProtocolFailure('FORBIDDEN', 'only an administrator can make someone an administrator');
      }
      const created = deps.people.create(person.organisationId, input);
      deps.audit.append({ person: auditPerson(person), action: 'person.created', detail: { personId: created.id, roles: created.roles } });
      res.status(201).json(created);
    }, peopleManagers),
  );

  api.patch(
    '/org/people/:id',
    staff((req, res, { person }) => {
      const target = inMyOrganisation(PersonParam.parse(req.params).id, person);
      const change = PersonChangeSchema.parse(req.body);
      if (!person.roles.includes('administrator') && (change.addRoles?.includes('administrator') || target.roles.includes('administrator'))) {
        throw new ProtocolFailure('FORBIDDEN', 'only an administrator can make or change an administrator');
      }
      const changed = deps.people.change(target.id, change);
      // A new email is a new way in: sign-ins made with the old one end.
      const ended = change.email !== undefined && change.email !== target.email ? deps.staffSessions.revokeAll(target.id) : 0;
      deps.audit.append({ person: auditPerson(person), action: 'person.changed', detail: { personId: target.id, fields: Object.keys(change), signInsEnded: ended } });
      res.json(changed);
    }, peopleManagers),
  );

  api.delete(
    '/org/people/:id',
    staff((req, res, { person }) => {
      const target = inMyOrganisation(PersonParam.parse(req.params).id, person);
      if (target.id === person.id) throw new ProtocolFailure('CONFLICT', 'you cannot remove yourself: ask another administrator');
      deps.people.remove(target.id);
      const ended = deps.staffSessions.revokeAll(target.id);
      deps.audit.append({ person: auditPerson(person), action: 'person.removed', detail: { personId: target.id, signInsEnded: ended } });
      res.status(204).end();
    }, ['administrator']),
  );

  // An administrator invites a member of staff: an email with a one-time sign-in link (24 h,
  // not bound to a browser, since theirs never asked for it).
  api.post(
    '/org/people/:id/sign-in-link',
    staff((req, res, { person }) => {
      const target = inMyOrganisation(PersonParam.parse(req.params).id, person);
      if (!target.email || !target.roles.some((r) => STAFF_ROLES.has(r))) throw new ProtocolFailure('CONFLICT', `${target.displayName} does not sign in as staff`);
      if (!deps.magicLinks.mayIssue(target.id)) throw new ProtocolFailure('RATE_LIMITED', 'several links were sent a moment ago: wait a few minutes');
      const token = deps.magicLinks.issue(target.id, 'admin-link', null);
      const organisation = deps.people.organisation(target.organisationId)!;
      deps.sendMail({
        organisationId: target.organisationId,
        to: target.email,
        subject: `You are invited to SimStudio (${organisation.name})`,
        kind: 'staff-invitation',
        text: signInMailText(target.displayName, organisation.name, `${deps.baseUrl()}/auth/magic/${token}`, '24 hours', 'in any browser'),
      });
      deps.audit.append({ person: auditPerson(person), action: 'signin.link_sent', detail: { personId: target.id, purpose: 'admin-link' } });
      res.status(202).json({ sentTo: target.email });
    }, ['administrator']),
  );

  api.get(
    '/org/outbox',
    staff((_req, res, { person }) => {
      const messages: OutboxMessageView[] = deps.outbox(person.organisationId).map((m) => ({
        id: m.id,
        to: m.to,
        subject: m.subject,
        text: withholdSignInLinks(m.text),
        kind: m.kind,
        status: m.status,
        attempts: m.attempts,
        lastError: m.lastError,
        createdAt: m.createdAt,
        sentAt: m.sentAt,
      }));
      res.json(messages);
    }, ['administrator']),
  );

  api.get(
    '/org/audit',
    staff((req, res, { person }) => {
      const query = z.object({ action: z.string().max(80).optional(), person: z.string().max(80).optional(), format: z.enum(['json', 'csv']).optional() }).parse(req.query);
      const rows = deps.audit.listForOrganisation(person.organisationId, { ...(query.action ? { action: query.action } : {}), ...(query.person ? { personId: query.person } : {}) });
      deps.audit.append({ person: auditPerson(person), action: 'audit.viewed', detail: { format: query.format ?? 'json', rows: rows.length } });
      if (query.format === 'csv') {
        res.type('text/csv').attachment('audit.csv').send(organisationAuditCsv(rows));
        return;
      }
      res.json(rows);
    }, ['administrator']),
  );

  function inMyOrganisation(id: string, viewer: Person): Person {
    const target = deps.people.get(id);
    // Another organisation's person is as absent as one that does not exist.
    if (!target || target.organisationId !== viewer.organisationId || target.removedAt) throw new ProtocolFailure('NOT_FOUND', 'no such person');
    return target;
  }

  return { api, pages };
}

/** The sessions the person takes part in, each with their own page for it. */
function assignmentsOf(person: Person, deps: Pick<IdentityRouteDeps, 'sessions' | 'assessment'>): MyAssignment[] {
  return deps.sessions.participantsOfPerson(person.id).flatMap((p) => {
    const session = deps.sessions.getSession(p.sessionId);
    if (!session) return [];
    const day = deps.assessment.dayState(session.id);
    return [
      {
        sessionId: session.id,
        title: session.title,
        role: p.role,
        scheduledStart: day?.scheduledStart ? new Date(day.scheduledStart).toISOString() : null,
        path: pageFor(p.id, p.role),
      },
    ];
  });
}

/** Where each role works on a session: coordinators in the studio, moderators in moderation. */
function pageFor(participantId: string, role: string): string {
  const id = encodeURIComponent(participantId);
  if (role === 'coordinator') return `/studio/${id}`;
  if (role === 'moderator') return `/moderation/${id}`;
  return landingPath({ id: participantId, role: role as Parameters<typeof landingPath>[0]['role'] });
}

/** Sign-in links are secrets of the person they were sent to, not of whoever reads the outbox. */
export function withholdSignInLinks(text: string): string {
  return text
    .replace(/\S+\/auth\/magic\/[A-Za-z0-9_-]+/g, '[sign-in link withheld: it signs in as the person it was sent to]')
    // Invitations (issue 15) carry candidates' and actors' personal invite links (signed tokens).
    .replace(/\S+\/join\/[A-Za-z0-9_.-]+/g, '[personal link withheld: it signs in as the person it was sent to]');
}

function signInMailText(name: string, organisation: string, link: string, lasts: string, where: string): string {
  return [
    `Hello ${name},`,
    '',
    `Use this link to sign in to SimStudio${organisation ? ` for ${organisation}` : ''}:`,
    '',
    link,
    '',
    `It works once, for ${lasts}, ${where}. If you did not expect this email, you can ignore it: nobody can sign in without the link.`,
  ].join('\n');
}
