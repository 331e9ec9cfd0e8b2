// The privacy and recording notices of each organisation, participants' answers to them, and the
// rule the room enforces: nobody joins a session's media or documents without having accepted
// the current version of both notices. A decline is kept (and shown to the coordinator) until
// the participant accepts; a new version of either notice asks everyone again.
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import {
  withOrganisation,
  type NoticeAnswerInput,
  type NoticeAnswerView,
  type NoticeKind,
  type NoticeStatus,
  type NoticeVersion,
  type OrganisationNotices,
  type ParticipantNotices,
  type SessionNoticeAnswers,
} from '../../shared/privacy.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditPerson, AuditRepo } from '../db/audit-repo.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { NoticesRepo } from './notices-repo.ts';

export interface PrivacyNoticesDeps {
  repo: NoticesRepo;
  sessions: SessionsRepo;
  audit: AuditRepo;
  organisationOf: (participant: Participant) => string | undefined;
  organisationName: (organisationId: string) => string;
  /** Whether the session's day is over: nothing is recorded any more, and a candidate reads
   *  their result without joining the media. */
  dayOver: (sessionId: string) => boolean;
  helpContact: string | null;
  now?: () => number;
}

export const DECLINED_MESSAGE =
  'You declined the privacy and recording notices, so you cannot join this assessment. Contact your coordinator about what happens next; you can accept the notices on this page if you change your mind.';
export const UNANSWERED_MESSAGE = 'Read and accept the privacy and recording notices before joining (they are shown before the device check).';
export const OUTDATED_MESSAGE = 'The privacy or recording notice has changed since you accepted it: read and accept the new version before joining.';

export class PrivacyNotices {
  private readonly deps: PrivacyNoticesDeps;
  private readonly now: () => number;

  constructor(deps: PrivacyNoticesDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  private organisation(participant: Participant): string {
    const organisationId = this.deps.organisationOf(participant);
    if (organisationId === undefined) throw new ProtocolFailure('NOT_FOUND', 'no such session');
    return organisationId;
  }

  private currentVersions(organisationId: string): Record<NoticeKind, NoticeVersion> {
    return { privacy: this.deps.repo.current(organisationId, 'privacy'), recording: this.deps.repo.current(organisationId, 'recording') };
  }

  private statusOf(answer: NoticeAnswerView | null, current: Record<NoticeKind, NoticeVersion>): NoticeStatus {
    if (!answer) return 'not-answered';
    const isCurrent = answer.privacyVersion === current.privacy.version && answer.recordingVersion === current.recording.version;
    // A decline stands until answered again, even after a new version: it was the person's word.
    if (answer.decision === 'declined') return 'declined';
    return isCurrent ? 'accepted' : 'outdated';
  }

  /** What the pre-join page shows this participant. */
  forParticipant(participant: Participant): ParticipantNotices {
    const organisationId = this.organisation(participant);
    const name = this.deps.organisationName(organisationId);
    const current = this.currentVersions(organisationId);
    const answer = this.deps.repo.latest(participant.id);
    return {
      organisationName: name,
      privacy: { version: current.privacy.version, text: withOrganisation(current.privacy.text, name) },
      recording: { version: current.recording.version, text: withOrganisation(current.recording.text, name) },
      answer,
      answerIsCurrent: answer !== null && answer.privacyVersion === current.privacy.version && answer.recordingVersion === current.recording.version,
      helpContact: this.deps.helpContact,
    };
  }

  /** Stores and audits an answer, which must name the versions that are current now. */
  answer(participant: Participant, input: NoticeAnswerInput): NoticeAnswerView {
    const current = this.currentVersions(this.organisation(participant));
    if (input.privacyVersion !== current.privacy.version || input.recordingVersion !== current.recording.version) {
      throw new ProtocolFailure('CONFLICT', 'the notices changed while you were reading them: read the new version and answer again');
    }
    const answer = this.deps.repo.record({ participantId: participant.id, sessionId: participant.sessionId, ...input, at: this.now() });
    this.deps.audit.append({
      sessionId: participant.sessionId,
      actorParticipantId: participant.id,
      action: `privacy.${input.decision}`,
      detail: { privacyVersion: input.privacyVersion, recordingVersion: input.recordingVersion },
    });
    return answer;
  }

  /** Whether they have accepted the current versions of both notices (the notices page is then skipped). */
  acceptedCurrent(participant: Participant): boolean {
    return this.statusOf(this.deps.repo.latest(participant.id), this.currentVersions(this.organisation(participant))) === 'accepted';
  }

  /** Why this participant may not join the room now, or undefined when they may. */
  admission(participant: Participant): ProtocolFailure | undefined {
    if (!ROOM_ROLES.has(participant.role) || ParticipantAuth.isDesk(participant)) return undefined;
    if (this.deps.dayOver(participant.sessionId)) return undefined;
    const organisationId = this.deps.organisationOf(participant);
    if (organisationId === undefined) return new ProtocolFailure('NOT_FOUND', 'no such session');
    switch (this.statusOf(this.deps.repo.latest(participant.id), this.currentVersions(organisationId))) {
      case 'accepted':
        return undefined;
      case 'declined':
        return new ProtocolFailure('FORBIDDEN', DECLINED_MESSAGE);
      case 'outdated':
        return new ProtocolFailure('FORBIDDEN', OUTDATED_MESSAGE);
      case 'not-answered':
        return new ProtocolFailure('FORBIDDEN', UNANSWERED_MESSAGE);
    }
  }

  /** Where every room participant of a session stands (the coordinator's board). */
  sessionAnswers(sessionId: string): SessionNoticeAnswers {
    const organisationId = this.deps.sessions.organisationOf(sessionId);
    if (organisationId === undefined) throw new ProtocolFailure('NOT_FOUND', 'no such session');
    const current = this.currentVersions(organisationId);
    const answers = this.deps.repo.latestInSession(sessionId);
    return {
      participants: this.deps.sessions
        .listParticipants(sessionId)
        .filter((p) => ROOM_ROLES.has(p.role))
        .map((p) => {
          const answer = answers.get(p.id) ?? null;
          return { participantId: p.id, displayName: p.displayName, role: p.role, status: this.statusOf(answer, current), at: answer?.at ?? null };
        }),
    };
  }

  /** The organisation's notices as written (the studio's editor). */
  organisationNotices(viewer: Participant): OrganisationNotices {
    return this.noticesOf(this.organisation(viewer));
  }

  noticesOf(organisationId: string): OrganisationNotices {
    return { organisationName: this.deps.organisationName(organisationId), ...this.currentVersions(organisationId) };
  }

  /** A coordinator in the studio saves a new version of one notice (audited); everyone is asked again. */
  save(viewer: Participant, kind: NoticeKind, text: string): NoticeVersion {
    const organisationId = this.organisation(viewer);
    if (ParticipantAuth.isDesk(viewer)) {
      return this.saveAs(organisationId, kind, text, { personId: viewer.personId ?? null, name: viewer.displayName, role: viewer.role, organisationId });
    }
    const saved = this.deps.repo.save(organisationId, kind, text, { personId: viewer.personId ?? null, name: viewer.displayName });
    this.deps.audit.append({ sessionId: viewer.sessionId, actorParticipantId: viewer.id, action: 'privacy.notice_saved', detail: { kind, version: saved.version } });
    return saved;
  }

  /** A member of staff (an administrator on their page, a coordinator at their desk) saves a new version. */
  saveAs(organisationId: string, kind: NoticeKind, text: string, person: AuditPerson): NoticeVersion {
    const saved = this.deps.repo.save(organisationId, kind, text, { personId: person.personId, name: person.name });
    this.deps.audit.append({ person: { ...person, organisationId }, action: 'privacy.notice_saved', detail: { kind, version: saved.version } });
    return saved;
  }
}

