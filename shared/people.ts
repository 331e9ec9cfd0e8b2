// People and organisations (issue 13): every human is a person of one organisation, with the
// roles they hold there. Staff sign in as themselves (magic link, single sign-on); candidates
// and actors keep their personal invite links. Defined once here for server and client.
import { z } from 'zod';

/** What a person may do in their organisation. A session still gives each participant exactly
 *  one role in that session (shared/roles.ts); these say which sessions and pages they may have. */
export const ORG_ROLES = ['administrator', 'coordinator', 'moderator', 'reviewer', 'leadObserver', 'observer', 'actor', 'candidate', 'analyst'] as const;
export const OrgRoleSchema = z.enum(ORG_ROLES);
export type OrgRole = z.infer<typeof OrgRoleSchema>;

export const ORG_ROLE_LABELS: Record<OrgRole, string> = {
  administrator: 'Administrator',
  coordinator: 'Coordinator',
  moderator: 'Moderator',
  reviewer: 'Independent reviewer',
  leadObserver: 'Lead observer',
  observer: 'Observer',
  actor: 'Actor',
  candidate: 'Candidate',
  analyst: 'Analyst',
};

/** Roles that sign in as staff (a magic link to their email, or single sign-on). Candidates and
 *  actors use the personal invite link of their session instead. */
export const STAFF_ROLES: ReadonlySet<OrgRole> = new Set<OrgRole>(['administrator', 'coordinator', 'moderator', 'reviewer', 'leadObserver', 'observer', 'analyst']);

export const EmailSchema = z.email().max(254).transform((e) => e.toLowerCase());

export interface Organisation {
  id: string;
  name: string;
  createdAt: string;
}

export interface Person {
  id: string;
  organisationId: string;
  displayName: string;
  email: string | null;
  candidateRef: string | null;
  roles: OrgRole[];
  createdAt: string;
  /** Set when the person was removed: they can no longer sign in, their sessions are closed. */
  removedAt: string | null;
}

export const NewPersonSchema = z
  .strictObject({
    displayName: z.string().trim().min(1).max(120),
    email: EmailSchema.optional(),
    roles: z.array(OrgRoleSchema).min(1).max(ORG_ROLES.length),
    candidateRef: z.string().trim().min(1).max(120).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.roles.some((r) => STAFF_ROLES.has(r)) && !p.email) {
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'staff sign in by email: give their email address' });
    }
    if (p.roles.includes('candidate') && !p.candidateRef) {
      ctx.addIssue({ code: 'custom', path: ['candidateRef'], message: 'a candidate needs their candidate reference' });
    }
    if (new Set(p.roles).size !== p.roles.length) ctx.addIssue({ code: 'custom', path: ['roles'], message: 'each role once' });
  });
export type NewPerson = z.infer<typeof NewPersonSchema>;

/** PATCH /api/org/people/:id: give someone booked by name an account (their email), correct a
 *  name, or add roles (roles are only ever added here; removal is removing the person). */
export const PersonChangeSchema = z
  .strictObject({
    displayName: z.string().trim().min(1).max(120).optional(),
    email: EmailSchema.optional(),
    addRoles: z.array(OrgRoleSchema).max(ORG_ROLES.length).optional(),
  })
  .refine((c) => c.displayName !== undefined || c.email !== undefined || (c.addRoles?.length ?? 0) > 0, { message: 'nothing to change' });
export type PersonChange = z.infer<typeof PersonChangeSchema>;

export const MagicLinkRequestSchema = z.strictObject({ email: EmailSchema });

/** One signed-in browser of a person (server-side session), as they see it in their list. */
export interface SignInSessionView {
  id: string;
  method: SignInMethod;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  userAgent: string;
  current: boolean;
}

export const SIGN_IN_METHODS = ['magic-link', 'oidc', 'first-run', 'admin-link', 'passkey'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** A session this person takes part in, with the page to open for it. */
export interface MyAssignment {
  sessionId: string;
  title: string;
  role: string;
  scheduledStart: string | null;
  /** Where this person opens it (their own participant's page). */
  path: string;
}

/** GET /api/staff/me */
export interface StaffMeResponse {
  person: Person;
  organisation: Organisation;
  assignments: MyAssignment[];
}

/** GET and PUT /api/org/sso: the organisation's single sign-on, never its client secret. */
export interface OrgSsoResponse {
  configured: boolean;
  issuer?: string;
  clientId?: string;
  /** False when the stored client secret no longer opens (the studio's secret changed): enter it again. */
  secretReadable?: boolean;
  /** The address to register at the provider. */
  redirectUri: string;
}

/** The page a signed-out staff member is sent to, and the one they land on after sign-in. */
export const SIGN_IN_PATH = '/signin';
export const STAFF_HOME_PATH = '/staff';
/** HttpOnly cookie holding a staff sign-in session's secret. */
export const STAFF_COOKIE = 'simstudio_staff';
/** HttpOnly cookie binding a requested magic link to the browser that asked for it. */
export const MAGIC_BROWSER_COOKIE = 'simstudio_signin';

/** Why a sign-in link was refused (the sign-in page's `?error=`), for people. */
export const SIGN_IN_FAILURES: Record<string, string> = {
  unknown: 'This sign-in link is not valid. Ask for a new one below.',
  used: 'This sign-in link has already been used: each link works once. Ask for a new one below.',
  expired: 'This sign-in link has expired (links from this page last 15 minutes). Ask for a new one below.',
  'other-browser': 'Open the link in the browser where you asked for it, or ask for a new link in this browser.',
  removed: 'Your access to SimStudio has ended. Ask your organisation’s administrator if this is a mistake.',
  oidc: 'Single sign-on did not complete. Try again, or ask for an email link below.',
};

/**
 * A member of staff's organisation-wide place (their "desk"): the studio of a coordinator, the
 * moderation queue of a moderator, the analytics of an analyst, opened by a signed-in person
 * without any session. Pages address it like a participant (`/studio/desk-coordinator`); the
 * server makes it a participant of no session, in the person's organisation, with that role.
 */
export const DESK_ROLES = ['coordinator', 'moderator', 'analyst'] as const;
export type DeskRole = (typeof DESK_ROLES)[number];
export const deskParticipantId = (role: DeskRole): string => `desk-${role}`;
export function deskRoleOf(participantId: string): DeskRole | null {
  const role = participantId.startsWith('desk-') ? participantId.slice(5) : '';
  return (DESK_ROLES as readonly string[]).includes(role) ? (role as DeskRole) : null;
}
/** A desk's session id names its organisation; no real session has this form. */
export const DESK_SESSION_PREFIX = 'org:';

/** GET /api/org/outbox (administrators): the organisation's email and its delivery. Sign-in
 *  links in a text are withheld: whoever reads the outbox must not be able to sign in as the
 *  person a link was sent to. */
export interface OutboxMessageView {
  id: number;
  to: string;
  subject: string;
  text: string;
  kind: string;
  status: 'queued' | 'sent' | 'failed' | 'logged';
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}
