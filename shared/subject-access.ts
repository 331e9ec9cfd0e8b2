// Subject access (issue 15 item 7): one zip archive of everything the studio holds about a
// person, for their organisation to answer a data subject's request. What is accepted (the
// route's and the command's input) and what the archive's JSON files hold, for server and client.
import { z } from 'zod';
import type { OrgRole } from './people.ts';
import type { ElementResult, Element, Outcome, Part } from './moderation.ts';

/** GET /api/org/people/:personId/subject-access */
export const SubjectAccessParamsSchema = z.strictObject({ personId: z.string().regex(/^[A-Za-z0-9-]{1,80}$/, 'not a person id') });

/** `npm run admin -- subject-access --person ID --out FILE` */
export const SubjectAccessCommandSchema = z.strictObject({
  person: z.string().regex(/^[A-Za-z0-9-]{1,80}$/, '--person ID is required (see list-people)'),
  out: z.string().min(1, '--out FILE is required').max(4096),
});

export function subjectAccessPath(personId: string): string {
  return `/api/org/people/${encodeURIComponent(personId)}/subject-access`;
}

/** The archive's file name: the person's name made safe, and the day it was made. */
export function subjectAccessFileName(displayName: string, at: Date): string {
  const who = displayName.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'person';
  return `subject-access-${who}-${at.toISOString().slice(0, 10)}.zip`;
}

/** person.json */
export interface SubjectAccessPerson {
  exportedAt: string;
  organisation: { id: string; name: string };
  person: {
    id: string;
    displayName: string;
    email: string | null;
    candidateRef: string | null;
    roles: OrgRole[];
    createdAt: string;
    removedAt: string | null;
  };
  /** How they sign in: never a secret, hash, key or token. */
  signIn: {
    singleSignOn: Array<{ issuer: string; subject: string; linkedAt: string }>;
    passkeys: Array<{ id: string; transports: string[]; createdAt: string; lastUsedAt: string | null }>;
    sessions: Array<{ method: string; userAgent: string; createdAt: string; lastSeenAt: string; expiresAt: string; revokedAt: string | null }>;
    emailLinks: Array<{ purpose: string; createdAt: string; expiresAt: string; usedAt: string | null }>;
  };
}

/** Other people appear by role only ("Observer 1", "Lead observer"): they are not the subject. */
export interface SubjectAccessRating {
  part: Part;
  itemId: string;
  itemTitle: string;
  rating: number | null;
}

export interface SubjectAccessNote {
  scenario: number | 'reflective';
  atMs: number;
  domainId: string | null;
  text: string;
  createdAt: string;
  /** For a candidate: which observer wrote it, by role ("Lead observer", "Observer 1"). */
  by?: string;
}

/** For a candidate: their assessment, once the result has been signed off. */
export type SubjectAccessAssessment =
  | { status: 'not signed off'; note: string }
  | {
      status: 'signed off' | 'under review';
      signedOffAt: string | null;
      outcome: Partial<Record<Element, Outcome>> | null;
      results: ElementResult[];
      marks: Array<{
        part: Part;
        itemId: string;
        itemTitle: string;
        observers: Array<{ observer: string; rating: number | null }>;
        agreed: { rating: number; rationale: string } | null;
        moderated: { rating: number; rationale: string; at: string } | null;
        final: number | null;
      }>;
      globalJudgements: Array<{ scenario: number; observer: string; value: number }>;
      feedback: { strengths: string; development: string };
      evidenceNotes: SubjectAccessNote[];
      reviews: Array<{ reasons: string; openedAt: string; decision: Partial<Record<Element, Outcome>> | null; decisionReasons: string | null; decidedAt: string | null }>;
      report: string | null;
    };

export interface SubjectAccessSession {
  sessionId: string;
  title: string;
  level: string;
  role: string;
  /** The name they were booked under in this session. */
  bookedAs: string;
  participantId: string;
  scheduledStart: string | null;
  dayStatus: string | null;
  template: { id: string; version: number; name: string } | null;
  /** Candidates: their booking (reference, reasonable adjustments, employer, retake). */
  booking?: { candidateRef: string | null; adjustments: unknown; employer: { name: string; consent: boolean } | null; retake: { of: string; element: Element } | null };
  /** Candidates: the scenarios they sat; actors: the scenarios they played. */
  scenarios?: Array<{ number: number; scenarioId: string }>;
  /** Candidates: their written exercise as frozen at its deadline. */
  written?: { text: string; frozenAt: string; sha256: string } | null;
  assessment?: SubjectAccessAssessment;
  /** Observers and lead observers: what they scored and wrote. */
  scoring?: {
    ratings: SubjectAccessRating[];
    globalJudgements: Array<{ scenario: number; value: number }>;
    evidenceNotes: SubjectAccessNote[];
    /** Lead observers: the agreed ratings and the narrative feedback they recorded. */
    agreed?: Array<{ part: Part; itemId: string; rating: number; rationale: string }>;
    feedback?: { strengths: string; development: string };
  };
  /** Moderators: the marks they set, and whether they signed the result off. */
  moderation?: { marks: Array<{ part: Part; itemId: string; rating: number; rationale: string; at: string }>; signedOffAt: string | null };
  /** `file`: its path in the archive; null when the stored file is missing (listed, not archived). */
  recordings: Array<{ id: string; phase: string; segment: number; status: string; bytes: number | null; sha256: string | null; durationMs: number | null; file: string | null }>;
  testCalls: Array<{ at: string; passed: boolean; failedStep: string | null; path: string | null; rttMs: number | null; uploadKbps: number | null; browser: string; result: unknown }>;
  /** Invite links issued to them (never the link itself). */
  inviteLinks: Array<{ issuedAt: string; validUntil: string; revokedAt: string | null }>;
}

/** records.json */
export interface SubjectAccessRecords {
  sessions: SubjectAccessSession[];
  /** Reviews they took part in as opener, reviewer or decider (a candidate's are under their assessment). */
  reviews: Array<{ sessionId: string; as: string[]; reasons: string; openedAt: string; decision: Partial<Record<Element, Outcome>> | null; decisionReasons: string | null; decidedAt: string | null }>;
  consents: Array<{ kind: string; sessionId: string | null; detail: Record<string, unknown>; at: string | null }>;
  calibrationAttempts: Array<{ caseId: string; ratings: unknown; global: number; passed: boolean; submittedAt: string }>;
  angoffEstimates: Array<{ templateId: string; itemId: string; estimate: number; updatedAt: string }>;
  equalities: { declined: boolean; answers: Record<string, string | null>; answeredAt: string } | null;
  /** Mail sent to their address; sign-in and invite links withheld (they sign in as them). */
  emails: Array<{ subject: string; text: string; kind: string; status: string; createdAt: string; sentAt: string | null }>;
  /** Sections other parts of the studio add (e.g. privacy notices accepted), by name. */
  more: Record<string, unknown>;
}

/** audit.json: rows where they acted, or that name them. Others who acted appear by role only. */
export interface SubjectAccessAuditRow {
  id: number;
  at: string;
  sessionId: string | null;
  /** 'you' when the subject acted; otherwise the actor's role, or the job's name. */
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}
