// Privacy and recording notices (issue 15 item 5): each organisation's two notices, versioned,
// shown to every participant before the device check; a participant's answer (accept or
// decline) covers the versions they read. Nobody joins a session's room without having accepted
// the current versions (server/privacy/). Defined once here for server and client.
import { z } from 'zod';

export const NOTICE_KINDS = ['privacy', 'recording'] as const;
export const NoticeKindSchema = z.enum(NOTICE_KINDS);
export type NoticeKind = z.infer<typeof NoticeKindSchema>;

export const NOTICE_TITLES: Record<NoticeKind, string> = {
  privacy: 'Privacy notice',
  recording: 'Recording notice',
};

/** Written where the organisation's name goes; replaced when the notice is shown. */
export const ORGANISATION_PLACEHOLDER = '{organisation}';

/** A notice's text (markdown, no HTML): long enough to say something, short enough to read. */
export const NOTICE_TEXT_MIN = 40;
export const NOTICE_TEXT_MAX = 20_000;

/** PUT /api/privacy/organisation/:kind — a new version of one notice. */
export const NoticeSaveSchema = z.strictObject({
  text: z.string().trim().min(NOTICE_TEXT_MIN, `a notice needs at least ${NOTICE_TEXT_MIN} characters`).max(NOTICE_TEXT_MAX),
});
export type NoticeSave = z.infer<typeof NoticeSaveSchema>;

export const NOTICE_DECISIONS = ['accepted', 'declined'] as const;
export const NoticeDecisionSchema = z.enum(NOTICE_DECISIONS);
export type NoticeDecision = z.infer<typeof NoticeDecisionSchema>;

/** Version 0 is the shipped default; an organisation's first edit is version 1. */
const VersionSchema = z.number().int().min(0).max(1_000_000);

/** POST /api/privacy/answer — the versions the participant read, and their answer. */
export const NoticeAnswerSchema = z.strictObject({
  privacyVersion: VersionSchema,
  recordingVersion: VersionSchema,
  decision: NoticeDecisionSchema,
});
export type NoticeAnswerInput = z.infer<typeof NoticeAnswerSchema>;

/** One notice as it stands for an organisation. */
export interface NoticeVersion {
  kind: NoticeKind;
  version: number;
  /** As written (with the organisation placeholder). */
  text: string;
  /** Null for the shipped default. */
  savedAt: string | null;
  savedBy: string | null;
}

/** A participant's latest answer. */
export interface NoticeAnswerView {
  decision: NoticeDecision;
  privacyVersion: number;
  recordingVersion: number;
  /** Server clock, ms. */
  at: number;
}

/** GET /api/privacy/notices — what the pre-join page shows. */
export interface ParticipantNotices {
  organisationName: string;
  /** Texts with the organisation's name in place. */
  privacy: { version: number; text: string };
  recording: { version: number; text: string };
  answer: NoticeAnswerView | null;
  /** The answer covers the current versions (otherwise it must be given again). */
  answerIsCurrent: boolean;
  /** Who to contact (SIMSTUDIO_HELP_CONTACT), when set. */
  helpContact: string | null;
}

/** GET /api/privacy/organisation — the studio's editor. */
export interface OrganisationNotices {
  organisationName: string;
  privacy: NoticeVersion;
  recording: NoticeVersion;
}

/** Where a participant stands with the notices, as the coordinator's board shows it. */
export const NOTICE_STATUSES = ['accepted', 'declined', 'not-answered', 'outdated'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

export interface SessionNoticeStatus {
  participantId: string;
  displayName: string;
  role: string;
  status: NoticeStatus;
  /** When they answered (server clock, ms); null when they have not. */
  at: number | null;
}

/** GET /api/sessions/:sessionId/privacy-answers (coordinators). */
export interface SessionNoticeAnswers {
  participants: SessionNoticeStatus[];
}

export function noticeStatusLabel(s: Pick<SessionNoticeStatus, 'status' | 'at'>, formatTime: (ms: number) => string): string {
  switch (s.status) {
    case 'accepted':
      return `accepted ${formatTime(s.at ?? 0)}`;
    case 'declined':
      return `declined ${formatTime(s.at ?? 0)}`;
    case 'outdated':
      return `not yet answered the new version (answered an older one ${formatTime(s.at ?? 0)})`;
    case 'not-answered':
      return 'not yet answered';
  }
}

/** The notice text with the organisation's name in place of the placeholder. */
export function withOrganisation(text: string, organisationName: string): string {
  return text.split(ORGANISATION_PLACEHOLDER).join(organisationName);
}

/** Shipped defaults: plain-English UK GDPR wording for a local authority. Organisations edit
 *  them (a DPO will want their own contact and retention periods in). */
export const DEFAULT_NOTICES: Record<NoticeKind, string> = {
  privacy: `**Who is responsible for your information.** ${ORGANISATION_PLACEHOLDER} is the data controller for the personal information used in this assessment. SimStudio is the software ${ORGANISATION_PLACEHOLDER} uses to run it.

**What we hold about you.** Your name, contact details and candidate reference; the times you joined and left; your pre-join check results; the ratings, notes and written feedback of the assessors; your written exercise; and your result. If you choose to answer the equalities questions, your answers are kept apart from your assessment and are only ever reported in groups.

**Why.** To run the assessment you have been booked on, to decide and record its result, to check that assessments are fair and consistent, and to deal with any review or complaint. The lawful basis is our public task (UK GDPR Article 6(1)(e)); equalities information is used under Article 9(2)(g) and the Equality Act 2010.

**Who sees it.** The assessment coordinator, the observers and moderators of your assessment, and, if you ask for a review, an independent reviewer. Your employer receives a summary only if you agreed to that at booking. We do not sell your information or send it outside the UK.

**How long we keep it.** Recordings for up to one year; your result and the marks behind it for as long as the accreditation scheme requires; everything else no longer than needed for the purposes above, after which it is deleted or made anonymous.

**Your rights.** You can ask for a copy of your information, ask us to correct it, and in some cases ask us to erase or restrict it or object to its use. Contact the data protection officer of ${ORGANISATION_PLACEHOLDER}. If you are unhappy with how we handled your information you can complain to the Information Commissioner's Office (ico.org.uk, 0303 123 1113).`,
  recording: `**This assessment is recorded.** Your camera and microphone are recorded during each scenario and the reflective conversation, from the moment a scenario starts until it ends. The observers watch live but are not shown to you.

**Why.** So that the observers and moderators can check the evidence for their ratings, so that the result can be reviewed fairly if you ask for a review, and to check that assessments are consistent.

**Who can watch the recordings.** Only the observers, moderators and coordinators of ${ORGANISATION_PLACEHOLDER}, and an independent reviewer if there is a review. Every time a recording is watched it is logged. A recording is used to train observers only if you agree separately.

**How long.** Recordings are deleted after one year, unless a review or dispute about your result is still open.

**If you do not accept.** You cannot take part in the assessment without being recorded. If you decline, contact your coordinator: they can explain your options, and you can come back to this page and accept later.`,
};
